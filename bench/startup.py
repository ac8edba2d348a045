"""Start-up and memory: ``python -m bench.startup``.

* Start-up: runs ``fastnn train --dataset breast_cancer --epochs 1`` in new
  processes and reports the time spent in imports and kernel loading (all but
  the training itself, from the CLI's own summary line).  The first run after
  clearing Numba's cache is the cold start (compilation); the next is warm.
* Memory: trains the W3 workload (784-256-128-10, 60,000 rows, batch 128) in a
  child process and reports its peak RSS above the interpreter's baseline,
  against data + parameters + optimizer state.
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

MEM_CHILD = r"""
import resource, numpy as np
bare = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from fastnn.network import Network, Trainer
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rng = np.random.default_rng(0)
X = rng.standard_normal((60000, 784), dtype=np.float32)
Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 60000)]
after_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
net = Network([784, 256, 128, 10], "relu", dtype=np.float32)
net.initialize(np.random.default_rng(0), "he")
tr = Trainer(net, X, Y, loss="softmax_ce", optimizer="adam", lr=1e-3, batch_size=128)
tr.run(1)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
useful = X.nbytes + Y.nbytes + 4 * net.params.nbytes   # data, params, grads, Adam m and v
print(bare * 1024, base * 1024, peak * 1024, useful)
"""


def cache_dirs():
    for folder in ("kernels",):
        yield os.path.join(ROOT, folder, "__pycache__")


def timed_train(env):
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "cli", "train", "--dataset", "breast_cancer",
                          "--epochs", "1", "-q", "--out", os.devnull + ".npz"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    m = re.search(r"training ([0-9.]+) s", out.stdout)
    if out.returncode != 0 or not m:
        raise SystemExit(f"train failed: {out.stdout}{out.stderr}")
    return wall, wall - float(m.group(1))


def main():
    env = dict(os.environ)
    if "--cold" in sys.argv:
        for d in cache_dirs():
            for f in os.listdir(d) if os.path.isdir(d) else []:
                if f.endswith((".nbi", ".nbc")):
                    os.remove(os.path.join(d, f))
        wall, setup = timed_train(env)
        print(f"cold start: {wall:.2f} s wall, {setup:.2f} s outside training "
              "(imports + compilation)")
    for i in range(2):
        wall, setup = timed_train(env)
        print(f"warm start {i + 1}: {wall:.2f} s wall, {setup:.2f} s outside training "
              "(imports + kernel loading + set-up)")
    out = subprocess.run([sys.executable, "-c", MEM_CHILD], capture_output=True, text=True,
                         cwd=ROOT, env=env)
    bare, base, peak, useful = map(int, out.stdout.split())
    print(f"W3 memory: {useful / 2**20:.0f} MiB of data + parameters + optimizer state; peak "
          f"RSS {peak / 2**20:.0f} MiB")
    print(f"  above the interpreter with numpy ({bare / 2**20:.0f} MiB): "
          f"{(peak - bare) / 2**20:.0f} MiB = {(peak - bare) / useful:.2f}x")
    print(f"  above the interpreter with fastnn imported ({base / 2**20:.0f} MiB, Numba and "
          f"LLVM loaded): {(peak - base) / 2**20:.0f} MiB = {(peak - base) / useful:.2f}x")


if __name__ == "__main__":
    main()
