"""Activations and their derivatives, element-wise over ``(B, n)`` arrays.

Derivatives are computed from what the forward pass stored: the activation
``a`` (sigmoid' = a(1-a), tanh' = 1-a^2, relu' from the sign of a) and, for
GELU only, the pre-activation ``z``.

GELU uses the tanh approximation of Hendrycks & Gimpel (2016), the form GPT-2
and ``torch.nn.GELU(approximate='tanh')`` use::

    gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
"""
import math

from numba import njit

from .config import JIT

IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, GELU, SOFTMAX = range(7)

#: name -> code; hidden layers may use every entry but ``softmax``.
ACTIVATIONS = {
    "identity": IDENTITY,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "gelu": GELU,
    "softmax": SOFTMAX,
}
HIDDEN_ACTIVATIONS = tuple(k for k in ACTIVATIONS if k != "softmax")

_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


@njit(**JIT)
def sigmoid_scalar(x):
    """Overflow-free logistic function: never evaluates exp of a positive number."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(**JIT)
def row_max(z, i):
    """max(z[i, :]) of a (B, n) array with n >= 1."""
    m = z[i, 0]
    for j in range(1, z.shape[1]):
        if z[i, j] > m:
            m = z[i, j]
    return m


@njit(**JIT)
def softmax_forward(a, z):
    """a[i, :] = softmax(z[i, :]) for each row; a (B, n) overwritten, may alias z.

    The row maximum is subtracted first, so rows like [1000, 1001] are exact.
    """
    B, n = z.shape
    for i in range(B):
        m = row_max(z, i)
        s = 0.0
        for j in range(n):
            e = math.exp(z[i, j] - m)
            a[i, j] = e
            s += e
        inv = 1.0 / s
        for j in range(n):
            a[i, j] *= inv


@njit(**JIT)
def activation_forward(a, z, act, alpha):
    """a = act(z), element-wise; a (B, n) overwritten, may alias z.

    alpha is the negative slope of leaky_relu (ignored otherwise).  Constants
    are cast to the arrays' dtype: a float64 literal in a float32 loop turns
    a select into a branch and stops vectorisation (38x slower ReLU backward).
    """
    B, n = z.shape
    if act == SOFTMAX:
        softmax_forward(a, z)
        return
    as_t = a.dtype.type
    zero, half, one = as_t(0.0), as_t(0.5), as_t(1.0)
    slope, c, k = as_t(alpha), as_t(_GELU_C), as_t(_GELU_K)
    for i in range(B):
        if act == IDENTITY:
            for j in range(n):
                a[i, j] = z[i, j]
        elif act == RELU:
            for j in range(n):
                x = z[i, j]
                a[i, j] = x if x > zero else zero
        elif act == LEAKY_RELU:
            for j in range(n):
                x = z[i, j]
                a[i, j] = x if x > zero else slope * x
        elif act == SIGMOID:
            for j in range(n):
                a[i, j] = sigmoid_scalar(z[i, j])
        elif act == TANH:
            for j in range(n):
                a[i, j] = math.tanh(z[i, j])
        elif act == GELU:
            for j in range(n):
                x = z[i, j]
                a[i, j] = half * x * (one + math.tanh(c * (x + k * x * x * x)))


@njit(**JIT)
def activation_backward(dz, da, a, z, act, alpha):
    """dz = da * act'(z), computed from the stored a (and z for gelu).

    All arrays (B, n); dz overwritten and may alias da.  Not defined for
    softmax (its error comes from the loss kernel).  Constants in the arrays'
    dtype, as in :func:`activation_forward`.
    """
    B, n = da.shape
    as_t = dz.dtype.type
    zero, half, one, three = as_t(0.0), as_t(0.5), as_t(1.0), as_t(3.0)
    slope, c, k = as_t(alpha), as_t(_GELU_C), as_t(_GELU_K)
    for i in range(B):
        if act == IDENTITY:
            for j in range(n):
                dz[i, j] = da[i, j]
        elif act == RELU:
            for j in range(n):
                dz[i, j] = da[i, j] if a[i, j] > zero else zero
        elif act == LEAKY_RELU:
            for j in range(n):
                dz[i, j] = da[i, j] if z[i, j] > zero else slope * da[i, j]
        elif act == SIGMOID:
            for j in range(n):
                dz[i, j] = da[i, j] * a[i, j] * (one - a[i, j])
        elif act == TANH:
            for j in range(n):
                dz[i, j] = da[i, j] * (one - a[i, j] * a[i, j])
        elif act == GELU:
            for j in range(n):
                x = z[i, j]
                t = math.tanh(c * (x + k * x * x * x))
                d = half * (one + t) + half * x * (one - t * t) * c * (one + three * k * x * x)
                dz[i, j] = da[i, j] * d


@njit(**JIT)
def activation_stats(alive, a, act):
    """Diagnostics of one hidden layer's batch of activations a (B, n).

    alive (n,) uint8 is OR-ed with "some sample's output is non-zero" (ReLU
    family; a unit never alive over an epoch is dead).  Returns the number of
    saturated outputs (derivative below 1% of its maximum) for sigmoid/tanh.
    """
    B, n = a.shape
    sat = 0
    if act == RELU or act == LEAKY_RELU or act == GELU:
        for i in range(B):
            for j in range(n):
                if a[i, j] > 0:
                    alive[j] = 1
    elif act == SIGMOID:
        for i in range(B):
            for j in range(n):
                if a[i, j] * (1.0 - a[i, j]) < 0.0025:
                    sat += 1
    elif act == TANH:
        for i in range(B):
            for j in range(n):
                if 1.0 - a[i, j] * a[i, j] < 0.01:
                    sat += 1
    return sat
