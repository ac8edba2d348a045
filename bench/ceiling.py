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
