"""Where BLAS beats the hand-written loops: ``python -m bench.routes``.

Times one layer's forward + backward (``dense_forward`` then ``dense_backward``
with dinp) through each route, float32, for a grid of (B, n_in, n_out), and
prints the ratios loops/BLAS (1 thread) and BLAS 2 threads / 1 thread with the
multiply-add count B*n_in*n_out.
``fastnn.network.BLAS_MIN_MACS`` is set from this table: the smallest size
from which BLAS is faster.
"""
import time

import numpy as np
from numba import njit

from kernels.activations import RELU
from kernels.config import JIT
from fastnn.threads import blas_threads
from kernels.dense import ROUTE_BLAS, ROUTE_LOOPS, dense_backward, dense_forward

SHAPES = [(4, 2, 8), (4, 8, 8), (8, 16, 16), (16, 16, 16), (32, 8, 16), (32, 16, 16),
          (32, 16, 32), (32, 30, 64), (32, 64, 64), (32, 64, 1), (4, 8, 1), (128, 32, 4), (64, 64, 64),
          (128, 64, 128), (128, 784, 256), (128, 256, 128), (128, 128, 10)]


@njit(**JIT)
def _layer_steps(n, z, a, inp, W, b, dinp, dW, db, route):
    for _ in range(n):
        dense_forward(z, a, inp, W, b, RELU, 0.0, route)
        dense_backward(dinp, dW, db, a, inp, W, route, False, True)


def time_route(B, n_in, n_out, route, min_time=0.05):
    rng = np.random.default_rng(0)
    f = np.float32
    inp = rng.standard_normal((B, n_in)).astype(f)
    W = rng.standard_normal((n_in, n_out)).astype(f)
    b = np.zeros(n_out, f)
    z, a = np.empty((B, n_out), f), np.empty((B, n_out), f)
    dinp, dW, db = np.empty((B, n_in), f), np.empty_like(W), np.empty_like(b)
    _layer_steps(1, z, a, inp, W, b, dinp, dW, db, route)
    n = 1
    while True:
        t = time.perf_counter()
        _layer_steps(n, z, a, inp, W, b, dinp, dW, db, route)
        dt = time.perf_counter() - t
        if dt > min_time:
            return dt / n
        n *= 4


def main():
    print(f"{'B':>5}{'n_in':>6}{'n_out':>6}{'MACs':>10}{'loops us':>11}{'blas1 us':>10}"
          f"{'blas2 us':>10}{'loops/blas1':>13}{'blas2/blas1':>13}")
    for B, n_in, n_out in SHAPES:
        lo = min(time_route(B, n_in, n_out, ROUTE_LOOPS) for _ in range(3))
        with blas_threads(1):
            b1 = min(time_route(B, n_in, n_out, ROUTE_BLAS) for _ in range(3))
        with blas_threads(2):
            b2 = min(time_route(B, n_in, n_out, ROUTE_BLAS) for _ in range(3))
        print(f"{B:>5}{n_in:>6}{n_out:>6}{B * n_in * n_out:>10}{lo * 1e6:>11.2f}"
              f"{b1 * 1e6:>10.2f}{b2 * 1e6:>10.2f}{lo / b1:>13.2f}{b2 / b1:>13.2f}")


if __name__ == "__main__":
    main()
