"""The sgemm ceiling: float32 (n, n) @ (n, n) with numpy, GFLOP/s = 2 n^3 / t (median)."""

import statistics
import time

import numpy as np


def sgemm_ceiling(n=2048, repeats=5):
    """Median and best GFLOP/s of ``A @ B`` into a preallocated ``C``; one untimed warm-up."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    C = np.empty((n, n), dtype=np.float32)
    np.matmul(A, B, out=C)  # warm-up: BLAS thread pool start, page faults
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(A, B, out=C)
        times.append(time.perf_counter() - t0)
    flops = 2.0 * n ** 3
    med = statistics.median(times)
    return {"n": n, "repeats": repeats, "median_s": med, "min_s": min(times),
            "gflops": flops / med / 1e9, "gflops_best": flops / min(times) / 1e9}


def main(argv=None):
    """``python -m bench.ceiling --repeats 5 --threads 2``: one JSON line on stdout."""
    import argparse
    import json
    import os

    from .worker import RESULT_PREFIX, thread_limits

    ap = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="default: nproc")
    a = ap.parse_args(argv)
    with thread_limits(a.threads or len(os.sched_getaffinity(0))):
        c = sgemm_ceiling(a.n, a.repeats)
    c["pid"] = os.getpid()
    print(RESULT_PREFIX + json.dumps(c))


if __name__ == "__main__":
    main()
