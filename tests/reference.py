"""The single NumPy reference of every kernel, computed in float64.

Every function here takes arrays of any float dtype, computes in float64 and
returns float64 (or a tuple of float64 arrays).  Nothing here imports
``kernels`` or ``fastnn``: the reference is written from the documented
formulas (the kernel docstrings, PyTorch's ``torch.optim.SGD``, Kingma & Ba
2015 Algorithm 1), never from the kernel code.

Shapes follow the kernels: inp (B, n_in), W (n_in, n_out), b (n_out,),
z/a/dz (B, n_out).  A network is a list ``layers`` of (W, b) pairs; its
hidden layers use ``hidden_act`` and its output layer computes logits, which
the loss consumes.  Flat buffers are laid out as the network's:
W0.ravel(), b0, W1.ravel(), b1, ...
"""
import math

import numpy as np

#: assert_allclose tolerances per dtype, for comparing a compiled kernel run in
#: that dtype against this float64 reference.  float32: a few ulps (1.2e-7)
#: times the length of the longest dot products/chains in the tests; float64:
#: the same idea at 2.2e-16.  Use as ``assert_allclose(x, ref, **tol(dtype))``.
TOL = {
    np.float32: dict(rtol=1e-5, atol=1e-6),
    np.float64: dict(rtol=1e-12, atol=1e-13),
}


#: kernels.optim.clip_by_global_norm divides by ``norm + 1e-12`` (a guard the
#: reference does not have), so a clipped step is smaller by a relative
#: 1e-12/norm < 1e-12/max_norm.  Visible in float64 only.
CLIP_GUARD = 1e-12


def tol(dtype, clip_norm=0.0):
    """The assert_allclose tolerances for a kernel run in ``dtype``.

    With ``clip_norm`` > 0 (steps that may have been clipped), rtol and atol
    grow by twice the relative effect of the kernel's CLIP_GUARD (atol as for
    quantities of order 1, such as parameters moved by a clipped step).
    """
    t = dict(TOL[np.dtype(dtype).type])
    if clip_norm > 0:
        t["rtol"] += 2 * CLIP_GUARD / clip_norm
        t["atol"] += 2 * CLIP_GUARD / clip_norm
    return t


def _f64(x):
    return np.asarray(x, dtype=np.float64)


GELU_C = math.sqrt(2.0 / math.pi)
GELU_K = 0.044715

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "gelu", "softmax")
HIDDEN_ACTIVATIONS = ACTIVATIONS[:-1]
LOSSES = ("bce", "softmax_ce", "mse")
#: the output activation matched with each loss
LOSS_OUTPUT = {"bce": "sigmoid", "softmax_ce": "softmax", "mse": "identity"}


# -- activations ---------------------------------------------------------
def sigmoid(z):
    """1 / (1 + exp(-z)) without overflow: exp is only taken of -|z|."""
    z = _f64(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(z):
    """Row-wise softmax of z (B, n), with the row maximum subtracted."""
    z = _f64(z)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logsumexp(z):
    """Row-wise log(sum(exp(z))) of z (B, n), shape (B,)."""
    z = _f64(z)
    m = z.max(axis=1)
    return m + np.log(np.exp(z - m[:, None]).sum(axis=1))


def activation_forward(z, act, alpha=0.01):
    """a = act(z) element-wise (softmax row-wise)."""
    z = _f64(z)
    if act == "identity":
        return z.copy()
    if act == "sigmoid":
        return sigmoid(z)
    if act == "tanh":
        return np.tanh(z)
    if act == "relu":
        return np.where(z > 0, z, 0.0)
    if act == "leaky_relu":
        return np.where(z > 0, z, alpha * z)
    if act == "gelu":
        return 0.5 * z * (1.0 + np.tanh(GELU_C * (z + GELU_K * z ** 3)))
    if act == "softmax":
        return softmax(z)
    raise ValueError(act)


def activation_derivative(z, act, alpha=0.01):
    """act'(z) element-wise, from z (derivative at 0 of relu is 0, of leaky_relu alpha)."""
    z = _f64(z)
    if act == "identity":
        return np.ones_like(z)
    if act == "sigmoid":
        s = sigmoid(z)
        return s * (1.0 - s)
    if act == "tanh":
        return 1.0 - np.tanh(z) ** 2
    if act == "relu":
        return np.where(z > 0, 1.0, 0.0)
    if act == "leaky_relu":
        return np.where(z > 0, 1.0, alpha)
    if act == "gelu":
        u = GELU_C * (z + GELU_K * z ** 3)
        t = np.tanh(u)
        # d/dz [0.5 z (1 + tanh u)] = 0.5 (1 + t) + 0.5 z (1 - t^2) u'
        return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * GELU_C * (1.0 + 3.0 * GELU_K * z * z)
    raise ValueError(f"no element-wise derivative for {act!r}")


def activation_backward(da, z, act, alpha=0.01):
    """dz = da * act'(z)."""
    return _f64(da) * activation_derivative(z, act, alpha)


# -- dense layer -----------------------------------------------------------
def dense_forward(inp, W, b, act, alpha=0.01):
    """(z, a) with z = inp @ W + b and a = act(z)."""
    z = _f64(inp) @ _f64(W) + _f64(b)
    return z, activation_forward(z, act, alpha)


def dense_backward(dz, inp, W, dW=None, db=None):
    """(dinp, dW, db) of a dense layer from the error dz at its pre-activation.

    dinp = dz @ W.T, dW = inp.T @ dz, db = dz summed over rows.  When dW/db are
    given the gradients are accumulated into them (returned as new arrays:
    dW + inp.T @ dz, db + sum(dz)), as the kernel's ``accumulate`` does.
    """
    dz, inp, W = _f64(dz), _f64(inp), _f64(W)
    gW = inp.T @ dz
    gb = dz.sum(axis=0)
    if dW is not None:
        gW = _f64(dW) + gW
    if db is not None:
        gb = _f64(db) + gb
    return dz @ W.T, gW, gb


# -- losses ------------------------------------------------------------------
def loss_per_sample(z, y, loss):
    """Per-sample loss (B,) from logits z, as documented in kernels/losses.py."""
    z, y = _f64(z), _f64(y)
    if loss == "bce":
        return (np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum(axis=1)
    if loss == "softmax_ce":
        return logsumexp(z) - (y * z).sum(axis=1)
    if loss == "mse":
        return 0.5 * ((z - y) ** 2).sum(axis=1)
    raise ValueError(loss)


def loss_forward(z, y, loss, scale=1.0):
    """(total, dz): summed loss over the batch and the error scale * (p - y)."""
    total = float(loss_per_sample(z, y, loss).sum())
    p = activation_forward(z, LOSS_OUTPUT[loss])
    return total, scale * (p - _f64(y))


# -- optimizers and clipping ---------------------------------------------------
def sgd_update(params, vel, grads, lr, momentum=0.0, nesterov=False):
    """(params, vel) after one step of torch.optim.SGD (dampening 0).

    vel = momentum * vel + g; step = g + momentum * vel (Nesterov) or vel;
    params -= lr * step.  momentum = 0 is plain SGD (vel returned unchanged).
    """
    p, v, g = _f64(params), _f64(vel), _f64(grads)
    if momentum == 0.0:
        return p - lr * g, v.copy()
    v = momentum * v + g
    step = g + momentum * v if nesterov else v
    return p - lr * step, v


def adam_update(params, m, v, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8, t=1):
    """(params, m, v) after Adam step t >= 1 (Kingma & Ba 2015, Algorithm 1)."""
    p, m, v, g = _f64(params), _f64(m), _f64(v), _f64(grads)
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    m_hat = m / (1.0 - beta1 ** t)
    v_hat = v / (1.0 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def global_norm(grads):
    """L2 norm of all gradients together (a flat buffer or a list of arrays)."""
    if isinstance(grads, (list, tuple)):
        return math.sqrt(sum(float((_f64(g) ** 2).sum()) for g in grads))
    return float(np.sqrt((_f64(grads) ** 2).sum()))


def clip_by_global_norm(grads, max_norm):
    """(grads, fired): grads scaled to global norm max_norm when it exceeds it (max_norm > 0)."""
    g = _f64(grads)
    norm = global_norm(g)
    if max_norm > 0 and norm > max_norm:
        return g * (max_norm / norm), True
    return g.copy(), False


# -- whole network -------------------------------------------------------------
def flatten(layers):
    """One flat float64 buffer W0.ravel(), b0, W1.ravel(), b1, ... of a list of (W, b)."""
    return np.concatenate([np.concatenate([_f64(W).ravel(), _f64(b)]) for W, b in layers])


def unflatten(flat, sizes):
    """The list of (W, b) of layer sizes [n_features, h1, ..., n_out] from a flat buffer."""
    flat = _f64(flat)
    layers, off = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = flat[off:off + n_in * n_out].reshape(n_in, n_out)
        off += n_in * n_out
        b = flat[off:off + n_out]
        off += n_out
        layers.append((W, b))
    assert off == flat.size, "flat buffer length does not match sizes"
    return layers


def network_forward(x, layers, hidden_act, alpha=0.01):
    """(zs, activations): per-layer pre-activations and activations; zs[-1] are the logits.

    Hidden layers apply hidden_act; the output layer is the identity (logits).
    activations[0] is the input x.
    """
    a = _f64(x)
    zs, acts = [], [a]
    L = len(layers)
    for l, (W, b) in enumerate(layers):
        act = hidden_act if l < L - 1 else "identity"
        z, a = dense_forward(a, W, b, act, alpha)
        zs.append(z)
        acts.append(a)
    return zs, acts


def network_gradients(x, y, layers, hidden_act, loss, alpha=0.01, l2=0.0):
    """(mean_loss, grads): batch-mean loss and per-layer (dW, db) of it.

    The loss is computed from the output logits; the error is (p - y) / B.
    ``l2`` adds l2 * W to each dW (not to db); the loss returned excludes it.
    """
    x = _f64(x)
    B = x.shape[0]
    zs, acts = network_forward(x, layers, hidden_act, alpha)
    total, dz = loss_forward(zs[-1], y, loss, scale=1.0 / B)
    grads = [None] * len(layers)
    for l in range(len(layers) - 1, -1, -1):
        W = _f64(layers[l][0])
        if l < len(layers) - 1:
            dz = activation_backward(dz, zs[l], hidden_act, alpha)
        dinp, dW, db = dense_backward(dz, acts[l], W)
        if l2:
            dW = dW + l2 * W
        grads[l] = (dW, db)
        dz = dinp
    return total / B, grads


def train_step(layers, opt_a, opt_b, x, y, hidden_act, loss, *, optimizer, lr, t=1,
               beta1=0.9, beta2=0.999, eps=1e-8, momentum=0.0, nesterov=False,
               clip_norm=0.0, l2=0.0, alpha=0.01):
    """One full-batch training step: gradient -> optional clip -> optimizer.

    opt_a/opt_b are flat buffers (SGD: velocity/unused; Adam: m/v); t is the
    1-based step number (Adam).  Returns a dict with the new ``layers``,
    ``opt_a``, ``opt_b``, the flat ``params``, the ``loss`` (batch mean, before
    the step), the pre-clip ``grad_norm`` and whether clipping ``clipped``.
    """
    mean_loss, grads = network_gradients(x, y, layers, hidden_act, loss, alpha, l2)
    g = flatten(grads)
    norm = global_norm(g)
    g, clipped = clip_by_global_norm(g, clip_norm)
    p = flatten(layers)
    if optimizer == "adam":
        p, a, b = adam_update(p, opt_a, opt_b, g, lr, beta1, beta2, eps, t)
    elif optimizer == "sgd":
        p, a = sgd_update(p, opt_a, g, lr, momentum, nesterov)
        b = _f64(opt_b).copy()
    else:
        raise ValueError(optimizer)
    sizes = [layers[0][0].shape[0]] + [W.shape[1] for W, _ in layers]
    return dict(layers=unflatten(p, sizes), params=p, opt_a=a, opt_b=b, loss=mean_loss,
                grad_norm=norm, clipped=clipped, grads=g)
