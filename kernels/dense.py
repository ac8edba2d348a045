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
    else:
        for i in range(B):
            for k in range(n_in):
                x = inp[i, k]
                for j in range(n_out):
                    dW[k, j] += x * dz[i, j]
    if need_dinp:
        if route == ROUTE_BLAS:
            np.dot(dz, W.T, dinp)
        else:
            for i in range(B):
                for k in range(n_in):
                    s = 0.0
                    for j in range(n_out):
                        s += dz[i, j] * W[k, j]
                    dinp[i, k] = s
