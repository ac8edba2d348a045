"""One vs two BLAS threads on the W3 workload: ``python -m bench.blas_threads``.

Trains W3 (784-256-128-10, batch 128) for about a second per setting on
subsets of 2,048 and 12,800 rows and on all 60,000, and prints µs per step
with SciPy's OpenBLAS at 1 thread and at its default.  On this project's VM
the answer changed with the data size and over the day, which is why the
engine calibrates the thread count at the start of training.
"""
import time

import numpy as np

from fastnn.network import Network, Trainer

from .workloads import WORKLOADS, make_data


def us_per_step(wl, X, Y, threads, shuffle, seconds=1.0):
    net = Network(wl.sizes, wl.act, dtype=np.float32)
    net.initialize(np.random.default_rng(0), "he")
    tr = Trainer(net, X, Y, loss=wl.loss, optimizer="adam", lr=1e-3, batch_size=wl.batch,
                 blas_threads=threads, shuffle=shuffle)
    tr.run(1)
    t, n = time.perf_counter(), 0
    while time.perf_counter() - t < seconds:
        tr.run(1)
        n += 1
    return (time.perf_counter() - t) / (n * -(-len(X) // wl.batch)) * 1e6


def main():
    wl = WORKLOADS["W3"]
    X, y = make_data(wl)
    Y = np.eye(wl.sizes[-1], dtype=np.float32)[y]
    for rows, shuffle in ((2048, False), (2048, True), (12800, False), (len(X), True)):
        one = us_per_step(wl, X[:rows], Y[:rows], 1, shuffle)
        default = us_per_step(wl, X[:rows], Y[:rows], None, shuffle)
        print(f"W3 {rows:>6} rows, shuffle {str(shuffle):<5}: 1 thread {one:7.0f} us/step, "
              f"BLAS default {default:7.0f} us/step")


if __name__ == "__main__":
    main()
