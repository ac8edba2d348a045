"""Plain NumPy trainer: the correctness reference (in float64) and the ``numpy`` baseline (float32).

Sizes: ``B`` batch, a layer maps ``n_in`` -> ``n_out``. All parameters live in one flat buffer
with each ``W`` (n_in, n_out) and ``b`` (n_out,) a view into it; gradients and the Adam moments
``m``, ``v`` are flat buffers of the same length, so the Adam step is one pass over flat arrays.
Losses are computed from logits: the output error is ``p - y`` (sigmoid + BCE, softmax + CE),
divided by ``B`` because the loss is the batch mean.
"""

import numpy as np

from .workloads import BETA1, BETA2, EPS, LR, copy_params


def _views(flat, sizes):
    """Split a flat buffer into [(W (n_in, n_out), b (n_out,)), ...] views."""
    out, off = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = flat[off:off + n_in * n_out].reshape(n_in, n_out)
        off += n_in * n_out
        b = flat[off:off + n_out]
        off += n_out
        out.append((W, b))
    return out


class NumpyTrainer:
    """Forward, backward and Adam with bias correction for a relu MLP, in ``dtype``."""

    def __init__(self, wl, params, dtype=np.float32, adam_eps="torch"):
        if wl.act != "relu":
            raise ValueError(f"act must be 'relu', got {wl.act!r}")
        if adam_eps not in ("torch", "sklearn"):
            raise ValueError(f"adam_eps must be 'torch' or 'sklearn', got {adam_eps!r}")
        self.wl, self.dtype, self.adam_eps = wl, np.dtype(dtype), adam_eps
        n = sum(W.size + b.size for W, b in params)
        self.flat = np.empty(n, dtype=self.dtype)
        self.layers = _views(self.flat, wl.sizes)
        for (W, b), (W0, b0) in zip(self.layers, params):
            W[...] = W0
            b[...] = b0
        self.dflat = np.zeros_like(self.flat)
        self.dlayers = _views(self.dflat, wl.sizes)
        self.m = np.zeros_like(self.flat)
        self.v = np.zeros_like(self.flat)
        self.tmp = np.empty_like(self.flat)
        self.t = 0

    def _output_error(self, z, yb):
        """dz = (p - y) / B for the batch-mean loss, from logits ``z`` (B, n_out)."""
        B = z.shape[0]
        if self.wl.loss == "bce":
            # stable sigmoid: exp of a non-positive number only
            e = np.exp(-np.abs(z))
            p = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
            dz = p - yb.reshape(B, 1).astype(self.dtype)
        elif self.wl.loss == "softmax_ce":
            e = np.exp(z - z.max(axis=1, keepdims=True))
            dz = e / e.sum(axis=1, keepdims=True)
            dz[np.arange(B), yb] -= 1
        else:
            raise ValueError(f"loss must be 'bce' or 'softmax_ce', got {self.wl.loss!r}")
        dz /= B
        return dz

    def step(self, xb, yb):
        """One forward + backward + Adam step on the batch ``xb`` (B, n_in), ``yb`` (B,)."""
        acts = [xb]
        for i, (W, b) in enumerate(self.layers):
            z = acts[-1] @ W
            z += b
            if i < len(self.layers) - 1:
                np.maximum(z, 0, out=z)
            acts.append(z)
        dz = self._output_error(acts[-1], yb)
        for i in range(len(self.layers) - 1, -1, -1):
            dW, db = self.dlayers[i]
            np.matmul(acts[i].T, dz, out=dW)
            np.sum(dz, axis=0, out=db)
            if i > 0:
                dinp = dz @ self.layers[i][0].T
                dinp *= acts[i] > 0  # relu' from the stored activation
                dz = dinp
        self._adam()

    def _adam(self):
        """m, v updated in place; p -= lr * m_hat / (sqrt(v_hat) + eps).

        ``adam_eps="sklearn"`` reproduces sklearn's convention, p -= lr * sqrt(bc2) / bc1 *
        m / (sqrt(v) + eps), which is the formula above with eps / sqrt(bc2) in place of eps.
        """
        self.t += 1
        g, m, v, tmp = self.dflat, self.m, self.v, self.tmp
        m *= BETA1
        np.multiply(g, 1 - BETA1, out=tmp)
        m += tmp
        v *= BETA2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - BETA2
        v += tmp
        bc1 = 1 - BETA1 ** self.t
        bc2 = 1 - BETA2 ** self.t
        np.divide(v, bc2, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += EPS if self.adam_eps == "torch" else EPS / np.sqrt(bc2)
        np.divide(m, tmp, out=tmp)
        tmp *= LR / bc1
        self.flat -= tmp

    def params64(self):
        return copy_params(self.layers, dtype=np.float64)


def reference_step(wl, params, xb, yb, adam_eps="torch"):
    """The correctness reference: one Adam step from ``params`` on (xb, yb), all in float64.

    ``adam_eps="sklearn"`` gives the reference for sklearn's placement of eps (see _adam).
    """
    tr = NumpyTrainer(wl, params, dtype=np.float64, adam_eps=adam_eps)
    tr.step(np.asarray(xb, dtype=np.float64), yb)
    return tr.params64()


class NumpyImpl:
    """``numpy``: the plain NumPy trainer above, float32, BLAS threads set by the harness."""

    name = "numpy"
    note = "float32 NumPy, matmuls through numpy's BLAS"

    @staticmethod
    def available() -> bool:
        return True

    def __init__(self, wl, X, Y, params, threads):
        self.wl, self.X, self.Y = wl, X, Y
        self.params0 = copy_params(params)
        self.trainer = NumpyTrainer(wl, self.params0, dtype=np.float32)
        self.rng = np.random.default_rng(1234)
        self.B = min(wl.batch, len(X))
        self.xb = np.empty((self.B, X.shape[1]), dtype=np.float32)
        self.yb = np.empty(self.B, dtype=Y.dtype)
        self.perm, self.pos = None, 0

    def one_step(self, xb, yb):
        tr = NumpyTrainer(self.wl, self.params0, dtype=np.float32)
        tr.step(np.ascontiguousarray(xb, dtype=np.float32), yb)
        return tr.params64()

    def run_steps(self, n):
        B, N = self.B, len(self.X)
        for _ in range(n):
            if self.perm is None or self.pos + B > N:
                self.perm, self.pos = self.rng.permutation(N), 0  # per-epoch shuffle
            idx = self.perm[self.pos:self.pos + B]
            self.pos += B
            np.take(self.X, idx, axis=0, out=self.xb)
            np.take(self.Y, idx, out=self.yb)
            self.trainer.step(self.xb, self.yb)
        return n
