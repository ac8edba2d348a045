"""``fastnn selftest``: check this machine's compiled kernels in a few seconds.

1. The compiled gradient of a small network equals a NumPy finite-difference
   gradient (central differences in float64 of a plain NumPy forward pass),
   for every hidden activation and every loss.
2. float32 and float64 compiled forward passes agree.
3. XOR is learnt to accuracy 1.0.
"""
import numpy as np

from kernels import train as K
from kernels.losses import LOSSES, loss_forward

from .network import Network


def _np_act(z, name, alpha=0.01):
    if name == "identity":
        return z
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, alpha * z)
    if name == "gelu":
        return 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3)))
    raise ValueError(name)


def _np_loss(z, Y, loss):
    if loss == "bce":
        return np.mean(np.sum(np.maximum(z, 0) - z * Y + np.log1p(np.exp(-np.abs(z))), axis=1))
    if loss == "softmax_ce":
        m = z.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
        return np.mean(lse - np.sum(Y * z, axis=1))
    return np.mean(0.5 * np.sum((z - Y) ** 2, axis=1))


def _np_net_loss(net, X, Y, loss):
    a = X
    for l in range(net.n_layers):
        z = a @ net.W(l) + net.b(l)
        a = z if l == net.n_layers - 1 else _np_act(z, net.hidden_act, net.alpha)
    return _np_loss(a, Y, loss)


def compiled_gradient(net, X, Y, loss):
    """Batch-mean gradient (flat, like net.params) from the compiled kernels."""
    B = len(X)
    layout, Z, A, D1, D2 = net.workspaces(B)
    grads = np.zeros_like(net.params)
    K.forward_batch(Z, A, X, net.params, layout, net.alpha, B)
    n_out = net.sizes[-1]
    logits = Z[layout[-1, K.WS_OFF]:layout[-1, K.WS_OFF] + B * n_out].reshape(B, n_out)
    dz = D1[:B * n_out].reshape(B, n_out)
    loss_forward(dz, logits, Y, LOSSES[loss], 1.0 / B, True)
    K.backward_batch(grads, D1, D2, Z, A, X, net.params, layout, net.alpha)
    return grads


def numeric_gradient(net, X, Y, loss, eps=1e-6):
    g = np.zeros_like(net.params)
    for i in range(net.n_params):
        keep = net.params[i]
        net.params[i] = keep + eps
        up = _np_net_loss(net, X, Y, loss)
        net.params[i] = keep - eps
        down = _np_net_loss(net, X, Y, loss)
        net.params[i] = keep
        g[i] = (up - down) / (2 * eps)
    return g


def gradient_checks(seed=0):
    """Yield (name, max relative error, passed) for each activation and loss."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, 3))
    targets = {"bce": (rng.random((6, 1)) > 0.5).astype(float),
               "softmax_ce": np.eye(3)[rng.integers(0, 3, 6)],
               "mse": rng.standard_normal((6, 2))}
    for act in ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "gelu"):
        for loss, Y in targets.items():
            net = Network([3, 5, 4, Y.shape[1]], act, dtype=np.float64)
            net.initialize(rng, "xavier")
            net.params += 0.1 * rng.standard_normal(net.n_params)
            g = compiled_gradient(net, X, Y, loss)
            n = numeric_gradient(net, X, Y, loss)
            # error relative to the gradient's scale (entry-wise ratios of tiny
            # entries measure only the finite-difference noise)
            err = np.max(np.abs(g - n)) / max(np.max(np.abs(n)), 1e-12)
            yield f"gradient {act:>10} + {loss:<10}", float(err), bool(err < 1e-6)


def run(echo=print):
    """Run every check, echo one line each; return True when all pass."""
    import time
    import warnings

    from .datasets import make_xor
    from .model import MLP
    ok = True
    t0 = time.perf_counter()
    for name, err, passed in gradient_checks():
        echo(f"{'pass' if passed else 'FAIL'}  {name}  max rel. error {err:.1e}")
        ok &= passed
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 7))
    nets = {}
    for dt in (np.float32, np.float64):
        net = Network([7, 16, 3], "relu", dtype=dt)
        net.initialize(np.random.default_rng(2), "he")
        nets[dt] = net.predict_logits(X)
    diff = float(np.max(np.abs(nets[np.float32] - nets[np.float64])))
    passed = diff < 1e-4
    ok &= passed
    echo(f"{'pass' if passed else 'FAIL'}  float32 vs float64 forward  max abs diff {diff:.1e}")
    X, y = make_xor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # 4 rows for 105 parameters: the warning is expected
        acc = MLP(hidden=(8, 8), seed=0).fit(X, y, epochs=1500, batch_size=4, lr=0.01,
                                             l2=0.0).score(X, y)
    passed = acc == 1.0
    ok &= passed
    echo(f"{'pass' if passed else 'FAIL'}  XOR 2-8-8-1 learnt: accuracy {acc:.2f}")
    echo(f"{'all checks passed' if ok else 'SOME CHECKS FAILED'} in "
         f"{time.perf_counter() - t0:.1f} s")
    return ok
