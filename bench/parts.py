"""Where a fastnn training step spends its time: ``python -m bench.parts W1 W2``.

For each workload, times in one process (compiled code only, no Python per
call): the forward pass of one batch (``forward_batch``), its backward pass
(``backward_batch``), the loss with its error, one Adam update over the whole
parameter buffer, and a whole steady-state step (``train_epochs``), in ns.
"""
import sys
import time

import numpy as np
from numba import njit

from fastnn.network import Network, Trainer
from fastnn.threads import blas_threads
from kernels import train as K
from kernels.config import JIT
from kernels.losses import LOSSES, loss_forward
from kernels.optim import adam_update

from .workloads import WORKLOADS, make_data


@njit(**JIT)
def _forward(n, Z, A, x, params, layout, B):
    for _ in range(n):
        K.forward_batch(Z, A, x, params, layout, np.float32(0.01), B)


@njit(**JIT)
def _backward(n, grads, D1, D2, Z, A, x, params, layout):
    for _ in range(n):
        K.backward_batch(grads, D1, D2, Z, A, x, params, layout, np.float32(0.01))


@njit(**JIT)
def _loss(n, dz, z, y, code):
    s = 0.0
    for _ in range(n):
        s += loss_forward(dz, z, y, code, 1.0 / z.shape[0], True)
    return s


@njit(**JIT)
def _adam(n, p, m, v, g):
    for t in range(1, n + 1):
        adam_update(p, m, v, g, 1e-3, 0.9, 0.999, 1e-8, t)


def per_call(fn, args, budget=0.3):
    fn(1, *args)
    n = 1
    while True:
        t = time.perf_counter()
        fn(n, *args)
        dt = time.perf_counter() - t
        if dt > budget:
            return dt / n * 1e9
        n *= 4


def main(names):
    for name in names or ["W1", "W2"]:
        wl = WORKLOADS[name]
        X, y = make_data(wl)
        Y = (y.reshape(-1, 1).astype(np.float32) if wl.loss == "bce"
             else np.eye(wl.sizes[-1], dtype=np.float32)[y])
        net = Network(wl.sizes, wl.act, dtype=np.float32)
        net.initialize(np.random.default_rng(0), "he")
        tr = Trainer(net, X, Y, loss=wl.loss, optimizer="adam", lr=1e-3, batch_size=wl.batch)
        B = tr.batch
        x = np.ascontiguousarray(X[:B])
        n_out = wl.sizes[-1]
        z = np.random.default_rng(1).standard_normal((B, n_out)).astype(np.float32)
        p = net.params.copy()
        with blas_threads(tr.blas_threads):
            parts = {
                "forward": per_call(_forward, (tr.Z, tr.A, x, net.params, tr.layout, B)),
                "backward": per_call(_backward, (tr.grads, tr.D1, tr.D2, tr.Z, tr.A, x,
                                                 net.params, tr.layout)),
                "loss": per_call(_loss, (np.empty_like(z), z, np.ascontiguousarray(Y[:B]),
                                         LOSSES[wl.loss])),
                "adam": per_call(_adam, (p, np.zeros_like(p), np.zeros_like(p),
                                         np.ones_like(p) * 1e-3)),
            }
        steps = -(-len(X) // B)
        epochs = max(1, int(100_000 // steps))
        tr.run(epochs)
        t = time.perf_counter()
        tr.run(epochs)
        parts["whole step"] = (time.perf_counter() - t) / (epochs * steps) * 1e9
        line = "  ".join(f"{k} {v:,.0f} ns" for k, v in parts.items())
        print(f"{name} ({'-'.join(map(str, wl.sizes))}, batch {B}): {line}")


if __name__ == "__main__":
    main(sys.argv[1:])
