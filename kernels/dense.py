"""Dense (fully connected) layer: forward with fused bias + activation, backward.

Shapes: inp (B, n_in), W (n_in, n_out) C-contiguous, b (n_out,),
z and a (B, n_out), dz (B, n_out), dinp (B, n_in), dW like W, db like b.

Two routes compute the matrix products, chosen per layer by the caller:
``ROUTE_LOOPS`` (hand-written loops, best for tiny layers where a BLAS call's
fixed cost dominates) and ``ROUTE_BLAS`` (``np.dot`` inside ``@njit``, which
Numba sends to SciPy's BLAS ``gemm``).  Both give the same result to rounding.
"""
import numpy as np
from numba import njit

from .activations import activation_forward
from .config import JIT

ROUTE_LOOPS, ROUTE_BLAS = 0, 1
ROUTES = {"loops": ROUTE_LOOPS, "blas": ROUTE_BLAS}

#: Below this many outputs the loops run along n_in instead of n_out (an inner
#: loop of 1-7 iterations costs more in loop overhead than in arithmetic).
NARROW = 8


@njit(**JIT)
def dense_forward(z, a, inp, W, b, act, alpha, route):
    """z = inp @ W + b and a = act(z); both (B, n_out), overwritten.

    a may alias z (then only the activation is kept).
    """
    B, n_in = inp.shape
    n_out = W.shape[1]
    if route == ROUTE_BLAS:
        np.dot(inp, W, z)
        for i in range(B):
            for j in range(n_out):
                z[i, j] += b[j]
    elif n_out < NARROW:
        for i in range(B):
            for j in range(n_out):
                s = b[j]
                for k in range(n_in):
                    s += inp[i, k] * W[k, j]
                z[i, j] = s
    else:
        for i in range(B):
            for j in range(n_out):
                z[i, j] = b[j]
            for k in range(n_in):
                x = inp[i, k]
                for j in range(n_out):
                    z[i, j] += x * W[k, j]
    activation_forward(a, z, act, alpha)


@njit(**JIT)
def dense_backward(dinp, dW, db, dz, inp, W, route, accumulate, need_dinp):
    """Gradients of a dense layer from the error dz at its pre-activation.

    dW (+)= inp.T @ dz and db (+)= dz summed over the batch: accumulated into
    when ``accumulate`` is true, else overwritten.  dinp = dz @ W.T is
    overwritten when ``need_dinp`` (the first layer does not need it).
    dz is already divided by the batch size (the loss kernel does that), so
    these are batch averages.
    """
    B, n_in = inp.shape
    n_out = W.shape[1]
    if not accumulate:
        if route != ROUTE_BLAS:
            dW[:, :] = 0.0
        db[:] = 0.0
    for i in range(B):
        for j in range(n_out):
            db[j] += dz[i, j]
    if route == ROUTE_BLAS and not accumulate:
        np.dot(inp.T, dz, dW)
    elif n_out < NARROW:
        for j in range(n_out):
            for i in range(B):
                d = dz[i, j]
                for k in range(n_in):
                    dW[k, j] += inp[i, k] * d
    else:
        for i in range(B):
            for k in range(n_in):
                x = inp[i, k]
                for j in range(n_out):
                    dW[k, j] += x * dz[i, j]
    if need_dinp:
        if route == ROUTE_BLAS:
            np.dot(dz, W.T, dinp)
        elif n_out < NARROW:
            for i in range(B):
                for k in range(n_in):
                    dinp[i, k] = 0.0
                for j in range(n_out):
                    d = dz[i, j]
                    for k in range(n_in):
                        dinp[i, k] += d * W[k, j]
        else:
            for i in range(B):
                for k in range(n_in):
                    s = 0.0
                    for j in range(n_out):
                        s += dz[i, j] * W[k, j]
                    dinp[i, k] = s
