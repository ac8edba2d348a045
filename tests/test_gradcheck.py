"""Central-difference gradient check of a whole 3-5-4-3 network through the compiled kernels.

The loss is ``kernels.losses.loss_forward`` of the logits from
``kernels.train.forward_batch``; the analytic gradient is
``kernels.train.backward_batch`` fed with the loss kernel's error.  Everything
in float64, eps = 1e-5 (see EPS), for every hidden activation, every loss and both GEMM
routes.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn.network import Network
from kernels import train as KT
from kernels.dense import ROUTE_BLAS, ROUTE_LOOPS
from kernels.losses import LOSSES, loss_forward

try:
    import reference as ref
except ImportError:  # tests/ collected as a package
    from tests import reference as ref

SIZES = [3, 5, 4, 3]
B = 4
# eps: truncation error ~ eps^2 f'''/6, rounding ~ 1e-15/eps (the compiled loss is accurate
# to ~1e-15).  At eps = 1e-6 rounding alone gives relative errors up to 8e-7 on gradients
# ~3e-4 (sigmoid/bce); eps = 1e-5 balances the two (measured max 8e-8, mean 2e-9).
EPS = 1e-5
ALPHA = 0.05
KINK_MARGIN = 1e-3  # relu-family pre-activations stay this far from 0 (>> EPS * |dz/dparam|)
MAX_REL, MEAN_REL = 1e-6, 1e-8


def _problem(act, loss, route):
    """(net, layout, workspaces, x, y) with no relu-family pre-activation near its kink."""
    for seed in range(100):
        rng = np.random.default_rng(seed)
        net = Network(SIZES, act, dtype=np.float64, alpha=ALPHA)
        net.initialize(rng, "xavier")
        for l in range(net.n_layers):
            net.b(l)[:] = 0.5 * rng.standard_normal(SIZES[l + 1])
        x = rng.standard_normal((B, SIZES[0]))
        y = np.ascontiguousarray({
            "bce": lambda: (rng.random((B, SIZES[-1])) < 0.5).astype(float),
            "softmax_ce": lambda: np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], B)],
            "mse": lambda: rng.standard_normal((B, SIZES[-1])),
        }[loss]())
        layers = [(net.W(l), net.b(l)) for l in range(net.n_layers)]
        zs, _ = ref.network_forward(x, layers, act, ALPHA)
        if min(np.abs(z).min() for z in zs[:-1]) > KINK_MARGIN:
            break
    else:
        raise AssertionError("no seed keeps the hidden pre-activations off the kink")
    layout, Z, A, D1, D2 = net.workspaces(B, routes=route)
    return net, layout, (Z, A, D1, D2), x, y


def _compiled_loss_and_grad(params, layout, ws, x, y, loss):
    """Batch-mean loss and its gradient, both from the compiled kernels."""
    Z, A, D1, D2 = ws
    KT.forward_batch(Z, A, x, params, layout, ALPHA, B)
    n_out = layout[-1, KT.N_OUT]
    off = layout[-1, KT.WS_OFF]
    logits = Z[off:off + B * n_out].reshape(B, n_out)
    dz = D1[:B * n_out].reshape(B, n_out)
    total = loss_forward(dz, logits, y, LOSSES[loss], 1.0 / B, True)
    grads = np.full_like(params, np.nan)
    KT.backward_batch(grads, D1, D2, Z, A, x, params, layout, ALPHA)
    return total / B, grads


def _compiled_loss(params, layout, ws, x, y, loss):
    Z, A, _, _ = ws
    KT.forward_batch(Z, A, x, params, layout, ALPHA, B)
    n_out = layout[-1, KT.N_OUT]
    off = layout[-1, KT.WS_OFF]
    logits = Z[off:off + B * n_out].reshape(B, n_out)
    return loss_forward(logits, logits, y, LOSSES[loss], 1.0, False) / B


@pytest.mark.parametrize("route", [ROUTE_LOOPS, ROUTE_BLAS])
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("act", ref.HIDDEN_ACTIVATIONS)
def test_backward_matches_central_differences(act, loss, route):
    """backward_batch's gradient equals central differences of the compiled loss (max rel < 1e-6, mean < 1e-8)."""
    net, layout, ws, x, y = _problem(act, loss, route)
    params = net.params
    f0, g = _compiled_loss_and_grad(params, layout, ws, x, y, loss)
    # the compiled loss and gradient are the reference's too
    layers = [(net.W(l), net.b(l)) for l in range(net.n_layers)]
    r_loss, r_grads = ref.network_gradients(x, y, layers, act, loss, ALPHA)
    assert_allclose(f0, r_loss, **ref.tol(np.float64))
    assert_allclose(g, ref.flatten(r_grads), **ref.tol(np.float64))

    fd = np.empty_like(params)
    for i in range(params.size):
        keep = params[i]
        params[i] = keep + EPS
        fp = _compiled_loss(params, layout, ws, x, y, loss)
        params[i] = keep - EPS
        fm = _compiled_loss(params, layout, ws, x, y, loss)
        params[i] = keep
        fd[i] = (fp - fm) / (2 * EPS)
    # relative error; the floor makes (near-)zero gradients compare absolutely, to 1e-12
    rel = np.abs(fd - g) / np.maximum(np.abs(fd) + np.abs(g), 1e-6)
    assert np.all(np.isfinite(g))
    assert np.abs(g).max() > 1e-2  # a non-trivial gradient is being checked
    assert rel.max() < MAX_REL, (rel.max(), int(rel.argmax()))
    assert rel.mean() < MEAN_REL, rel.mean()
