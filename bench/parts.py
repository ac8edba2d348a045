"""Where a fastnn training step spends its time: ``python -m bench.parts W1 W2``.

Runs consecutive batches through cumulative stages in one compiled loop,
so every stage sees the data the previous one produced (repeating one stage
alone on stale buffers measures something else: the backward pass of a
batch whose error buffer was already consumed):

1. forward pass (``forward_batch``)
2. + loss and output error (``loss_forward``)
3. + backward pass (``backward_batch``)
4. + Adam update over the whole parameter buffer

and prints the time per step up to each stage (cumulative, ns) and the
whole steady-state step of ``train_epochs`` (which adds shuffling,
random-row gathering, gradient norms and bookkeeping).  Differences between
consecutive stages are only a rough split: stages interact (on W2 the
backward pass costs twice as much after a forward pass as when repeated
alone, and adding the update has made the loop faster).
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
from kernels.optim import adam_apply, adam_scalars

from .workloads import WORKLOADS, encode_targets, make_data

@njit(**JIT)
def _stages(nsteps, upto, params, grads, m, v, X, Y, Z, A, D1, D2, layout, B, loss_code, xb):
    alpha = params.dtype.type(0.01)
    L = layout.shape[0]
    n_out = layout[L - 1, K.N_OUT]
    span = X.shape[0] - B + 1
    x = K.view2(xb, 0, B, X.shape[1])
    for s in range(nsteps):
        lo = (s * B) % span
        x[:, :] = X[lo:lo + B]          # gathered into one buffer, as train_epochs does
        K.forward_batch(Z, A, x, params, layout, alpha, B)
        if upto >= 1:
            logits = K.view2(Z, layout[L - 1, K.WS_OFF], B, n_out)
            loss_forward(K.view2(D1, 0, B, n_out), logits, Y[lo:lo + B], loss_code,
                         1.0 / B, True)
        if upto >= 2:
            K.backward_batch(grads, D1, D2, Z, A, x, params, layout, alpha)
        if upto >= 3:
            step, eps_hat = adam_scalars(1e-3, 0.9, 0.999, 1e-8, s + 1)
            adam_apply(params, m, v, grads, step, eps_hat, 0.9, 0.999, 0.0)


def per_step(upto, args, budget=0.3):
    _stages(2, upto, *args)
    n = 16
    while True:
        t = time.perf_counter()
        _stages(n, upto, *args)
        dt = time.perf_counter() - t
        if dt > budget:
            return dt / n * 1e9
        n *= 4


def main(names):
    for name in names or ["W1", "W2"]:
        wl = WORKLOADS[name]
        X, y = make_data(wl)
        Y = encode_targets(wl, y)
        net = Network(wl.sizes, wl.act, dtype=np.float32)
        net.initialize(np.random.default_rng(0), "he")
        tr = Trainer(net, X, Y, loss=wl.loss, optimizer="adam", lr=1e-3, batch_size=wl.batch)
        args = (net.params, tr.grads, tr.opt_a, tr.opt_b, tr.X, tr.Y, tr.Z, tr.A, tr.D1, tr.D2,
                tr.layout, tr.batch, LOSSES[wl.loss], tr.xb)
        with blas_threads(tr.blas_threads):
            cumulative = [min(per_step(k, args) for _ in range(3)) for k in range(4)]
        parts = dict(zip(("forward", "+loss", "+backward", "+adam"), cumulative))
        steps = -(-len(X) // tr.batch)
        epochs = max(1, int(100_000 // steps))
        tr.run(epochs)
        t = time.perf_counter()
        tr.run(epochs)
        parts["whole step"] = (time.perf_counter() - t) / (epochs * steps) * 1e9
        line = "  ".join(f"{k} {v:,.0f} ns" for k, v in parts.items())
        print(f"{name} ({'-'.join(map(str, wl.sizes))}, batch {tr.batch}): {line}")


if __name__ == "__main__":
    main(sys.argv[1:])
