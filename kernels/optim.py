"""Optimizer updates over the flat parameter buffer, and gradient clipping.

params, grads and the optimizer state (vel; m, v) are 1-D buffers of equal
length: one loop updates the whole network.  Formulas (as in PyTorch's
``torch.optim.SGD`` and Kingma & Ba 2015, Algorithm 1):

SGD with momentum mu:   vel = mu*vel + g;  step = g + mu*vel (Nesterov) or vel
                        params -= lr * step          (mu = 0: plain SGD)
Adam at step t >= 1:    m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
                        params -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
"""
import math

import numpy as np
from numba import njit

from .config import JIT
from .views import view1

SGD, ADAM = range(2)
OPTIMIZERS = {"sgd": SGD, "adam": ADAM}


#: The update loops sum the squared gradient in the buffer's precision, in
#: vector lanes, over blocks of this many elements, and add the block sums in
#: float64: float64 sums throughout cost a third of the Adam pass over a
#: float32 buffer (2.97 vs 1.94 us on W2's 6,337 parameters), float32 sums of
#: a whole 6.3M-parameter buffer were 2e-4 off; blocked, float32 error stays
#: at the level of one block (about 1e-7 relative).
NORM_BLOCK = 4096


@njit(**JIT)
def sgd_update(params, vel, grads, lr, momentum, nesterov, l2=0.0, n_l2=-1):
    """One SGD step; params and vel updated in place.

    The gradient used is g = grads + l2 * params on the first n_l2 elements
    (all when n_l2 < 0; a layer's segment is its weights then its biases, and
    the penalty is on the weights only) and g = grads after them; grads itself
    is not changed.  Returns (sum g**2 before n_l2, sum after), so a caller
    that does not clip gets the gradient norms without another pass (see
    NORM_BLOCK for their precision).  Buffers are contiguous.
    """
    flag = 1.0 if nesterov else 0.0
    return _blocked(np.int64(SGD), params, vel, vel, grads, (lr, momentum, flag, 0.0), l2, n_l2)


@njit(**JIT)
def _blocked(opt, params, a, b, grads, consts, l2, n_l2):
    """The update ``opt`` (SGD: state a, consts (lr, momentum, nesterov, -);
    ADAM: state a=m, b=v, consts (step, eps_hat, beta1, beta2)) over blocks of
    NORM_BLOCK elements; returns the pair of float64 sums of g**2.

    Callers pass opt as np.int64, not the literal constant: each literal would
    compile its own copy of both updates."""
    n = params.shape[0]
    if n_l2 < 0:
        n_l2 = n
    sw = 0.0
    sb = 0.0
    for lo in range(0, n, NORM_BLOCK):
        k = min(NORM_BLOCK, n - lo)
        p, sa, g = view1(params, lo, k), view1(a, lo, k), view1(grads, lo, k)
        if opt == ADAM:
            u, w = _adam_block(p, sa, view1(b, lo, k), g, consts[0], consts[1], consts[2],
                               consts[3], l2, n_l2 - lo)
        else:
            u, w = _sgd_block(p, sa, g, consts[0], consts[1], consts[2] != 0.0, l2, n_l2 - lo)
        sw += u
        sb += w
    return sw, sb


@njit(**JIT)
def _sgd_block(params, vel, grads, lr, momentum, nesterov, l2, n_l2):
    """sgd_update's loop over one block (n_l2 relative to the block, may be < 0)."""
    n = params.shape[0]
    as_t = params.dtype.type  # keep the loop in the buffer's precision
    lr_t = as_t(lr)
    mu = as_t(momentum)
    l2_t, zero, one = as_t(l2), as_t(0.0), as_t(1.0)
    sw = zero
    sb = zero
    for i in range(n):
        w = one if i < n_l2 else zero              # 1 on weights, 0 on biases
        g = grads[i] + l2_t * w * params[i]
        gg = g * g
        sw += gg * w                               # masks, not branches: the loop vectorises
        sb += gg * (one - w)
        if momentum == 0.0:
            params[i] -= lr_t * g
        else:
            vi = mu * vel[i] + g
            vel[i] = vi
            if nesterov:
                params[i] -= lr_t * (g + mu * vi)
            else:
                params[i] -= lr_t * vi
    return np.float64(sw), np.float64(sb)


@njit(**JIT)
def adam_scalars(lr, beta1, beta2, eps, t):
    """(step, eps_hat) of Adam step t, in float64, such that
    lr * mhat / (sqrt(vhat) + eps) == step * m / (sqrt(v) + eps_hat)."""
    return adam_scalars_pow(lr, eps, beta1 ** t, beta2 ** t)


@njit(**JIT)
def adam_scalars_pow(lr, eps, beta1_t, beta2_t):
    """:func:`adam_scalars` from the powers beta1**t and beta2**t (a training
    loop carries them from step to step: two multiplies instead of two pow)."""
    root_c2 = math.sqrt(1.0 - beta2_t)          # sqrt(1 - b2^t) = 1 / sqrt(c2)
    return lr / (1.0 - beta1_t) * root_c2, eps * root_c2


@njit(**JIT)
def adam_apply(params, m, v, grads, step, eps_hat, beta1, beta2, l2, n_l2=-1):
    """The Adam loop with the bias corrections already folded into step/eps_hat
    (see :func:`adam_scalars`); l2, n_l2 and the returned pair of sums of g**2
    as in :func:`sgd_update`."""
    return _blocked(np.int64(ADAM), params, m, v, grads, (step, eps_hat, beta1, beta2), l2, n_l2)


@njit(**JIT)
def _adam_block(params, m, v, grads, step, eps_hat, beta1, beta2, l2, n_l2):
    """adam_apply's loop over one block (n_l2 relative to the block, may be < 0)."""
    n = params.shape[0]
    as_t = params.dtype.type        # the loop runs in the buffer's precision
    step_t, eps_t = as_t(step), as_t(eps_hat)
    b1, b2 = as_t(beta1), as_t(beta2)
    ob1, ob2 = as_t(1.0 - beta1), as_t(1.0 - beta2)
    l2_t, zero, one = as_t(l2), as_t(0.0), as_t(1.0)
    sw = zero
    sb = zero
    for i in range(n):
        w = one if i < n_l2 else zero              # 1 on weights, 0 on biases
        g = grads[i] + l2_t * w * params[i]
        gg = g * g
        sw += gg * w                               # masks, not branches: the loop vectorises
        sb += gg * (one - w)
        mi = b1 * m[i] + ob1 * g
        vi = b2 * v[i] + ob2 * g * g
        m[i] = mi
        v[i] = vi
        params[i] -= step_t * mi / (math.sqrt(vi) + eps_t)
    return np.float64(sw), np.float64(sb)


@njit(**JIT)
def adam_update(params, m, v, grads, lr, beta1, beta2, eps, t, l2=0.0):
    """One Adam step number t (1-based); params, m, v updated in place.

    The gradient used is g = grads + l2 * params (grads itself is not changed);
    returns sum(g**2) in float64 (see :func:`sgd_update`).
    """
    step, eps_hat = adam_scalars(lr, beta1, beta2, eps, t)
    sw, sb = adam_apply(params, m, v, grads, step, eps_hat, beta1, beta2, l2)
    return sw + sb


@njit(**JIT)
def sum_squares(x):
    """Sum of x**2 over a 1-D buffer, accumulated in float64."""
    s = 0.0
    for i in range(x.shape[0]):
        xi = np.float64(x[i])       # float(x[i]) would stay float32 in Numba
        s += xi * xi
    return s


@njit(**JIT)
def scale_(x, factor):
    """x *= factor over a 1-D buffer, in place."""
    f = x.dtype.type(factor)
    for i in range(x.shape[0]):
        x[i] *= f


@njit(**JIT)
def add_scaled_(x, y, factor):
    """x += factor * y over 1-D buffers, in place (L2 penalty: grads += l2 * W)."""
    f = x.dtype.type(factor)
    for i in range(x.shape[0]):
        x[i] += f * y[i]


@njit(**JIT)
def clip_by_global_norm(grads, max_norm, norm):
    """Rescale grads so their global L2 norm is at most max_norm.

    ``norm`` is the norm already computed by the caller (sqrt of the summed
    per-layer squares).  Returns True when clipping fired.  max_norm <= 0
    disables clipping.
    """
    if max_norm > 0.0 and norm > max_norm:
        scale_(grads, max_norm / norm)
        return True
    return False
