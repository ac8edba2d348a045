"""Losses computed from logits, with the output error of the matched pair.

z, y, dz: (B, n_out).  For ``bce`` y holds 0/1 and the output is sigmoid;
for ``softmax_ce`` y holds one-hot rows and the output is softmax; for
``mse`` y holds real values and the output is the identity.  In each case
d(loss)/dz = p - y, where p is the output activation.

Per-sample losses (summed over outputs):

* bce:        max(z, 0) - z*y + log1p(exp(-|z|))
* softmax_ce: logsumexp(z) - sum(y * z)
* mse:        0.5 * sum((z - y)^2)        (the factor 1/2, as scikit-learn)

All are finite for any finite z: no exp of a large positive number is taken.
"""
import math

from numba import njit

from .activations import row_max
from .config import JIT

BCE, SOFTMAX_CE, MSE = range(3)
LOSSES = {"bce": BCE, "softmax_ce": SOFTMAX_CE, "mse": MSE}


@njit(**JIT)
def loss_forward(dz, z, y, loss, scale, need_error):
    """Return the sum over the batch of the per-sample losses.

    When ``need_error``, dz = scale * (p - y) is written (overwritten); pass
    scale = 1/B to get the error of the batch-mean loss.  dz may alias z.
    """
    B, n = z.shape
    total = 0.0
    for i in range(B):
        if loss == BCE:
            for j in range(n):
                x = z[i, j]
                t = y[i, j]
                ex = math.exp(-abs(x))          # one exp serves the loss and the sigmoid
                total += max(x, 0.0) - x * t + math.log1p(ex)
                if need_error:
                    p = 1.0 / (1.0 + ex) if x >= 0 else ex / (1.0 + ex)
                    dz[i, j] = scale * (p - t)
        elif loss == SOFTMAX_CE:
            m = row_max(z, i)
            s = 0.0
            for j in range(n):
                s += math.exp(z[i, j] - m)
            lse = m + math.log(s)
            yz = 0.0
            ysum = 0.0
            for j in range(n):
                yz += y[i, j] * z[i, j]
                ysum += y[i, j]
            total += lse * ysum - yz
            if need_error:
                for j in range(n):
                    dz[i, j] = scale * (math.exp(z[i, j] - lse) - y[i, j])
        else:
            for j in range(n):
                d = z[i, j] - y[i, j]
                total += 0.5 * d * d
                if need_error:
                    dz[i, j] = scale * d
    return total
