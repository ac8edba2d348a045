"""PyTorch baselines: ``torch-eager`` (default Adam) and ``torch-fused`` (fused / foreach Adam).

Both are float32 on CPU, take the same initial ``(W (n_in, n_out), b (n_out,))`` params, compute
each layer as ``torch.addmm(b, inp, W)`` and use the library's losses on logits
(``binary_cross_entropy_with_logits`` / ``cross_entropy``, batch mean).
"""

import numpy as np

from .workloads import BETA1, BETA2, EPS, LR

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # optional baseline
    torch = None


class _TorchBase:
    name = "torch"
    adam_kwargs = {}

    @staticmethod
    def available() -> bool:
        return torch is not None

    def __init__(self, wl, X, Y, params, threads):
        torch.set_num_threads(threads)
        self.wl = wl
        self.params0 = [(np.array(W, np.float32), np.array(b, np.float32)) for W, b in params]
        self.X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        self.Y = self._targets(torch.from_numpy(np.asarray(Y)))
        self.B = min(wl.batch, len(X))
        self.gen = torch.Generator().manual_seed(1234)
        self.perm, self.pos = None, 0
        self.tensors, self.opt = self._build()

    def _targets(self, y):
        if self.wl.loss == "bce":
            return y.to(torch.float32).reshape(-1, 1)
        return y.to(torch.int64)

    def _build(self):
        tensors = []
        for W, b in self.params0:
            tensors.append(torch.tensor(W, requires_grad=True))
            tensors.append(torch.tensor(b, requires_grad=True))
        opt, self.variant = self._make_adam(tensors)
        self.note = f"float32, Adam {self.variant}"
        return tensors, opt

    def _make_adam(self, tensors):
        opt = torch.optim.Adam(tensors, lr=LR, betas=(BETA1, BETA2), eps=EPS, weight_decay=0,
                               **self.adam_kwargs)
        return opt, "default (single-tensor for-loop on CPU)"

    def _step(self, tensors, opt, xb, yb):
        h = xb
        n_layers = len(tensors) // 2
        for i in range(n_layers):
            h = torch.addmm(tensors[2 * i + 1], h, tensors[2 * i])
            if i < n_layers - 1:
                h = torch.relu(h)
        if self.wl.loss == "bce":
            loss = F.binary_cross_entropy_with_logits(h, yb)
        else:
            loss = F.cross_entropy(h, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def one_step(self, xb, yb):
        tensors, opt = self._build()
        xb = torch.from_numpy(np.ascontiguousarray(xb, dtype=np.float32))
        yb = self._targets(torch.from_numpy(np.asarray(yb)))
        self._step(tensors, opt, xb, yb)
        arrs = [t.detach().numpy().astype(np.float64) for t in tensors]
        return list(zip(arrs[0::2], arrs[1::2]))

    def run_steps(self, n):
        B, N = self.B, self.X.shape[0]
        for _ in range(n):
            if self.perm is None or self.pos + B > N:
                self.perm, self.pos = torch.randperm(N, generator=self.gen), 0  # per epoch
            idx = self.perm[self.pos:self.pos + B]
            self.pos += B
            self._step(self.tensors, self.opt, self.X.index_select(0, idx),
                       self.Y.index_select(0, idx))
        return n


class TorchEagerImpl(_TorchBase):
    """``torch-eager``: torch.optim.Adam with its CPU defaults."""

    name = "torch-eager"


class TorchFusedImpl(_TorchBase):
    """``torch-fused``: Adam(fused=True) where this torch supports it on CPU, else foreach=True."""

    name = "torch-fused"

    def _make_adam(self, tensors):
        kw = dict(lr=LR, betas=(BETA1, BETA2), eps=EPS, weight_decay=0)
        try:
            opt = torch.optim.Adam(tensors, fused=True, **kw)
            # fused support is only checked on the first step in some versions: probe it on
            # throw-away copies so a failure falls back here rather than mid-benchmark.
            probe = [t.detach().clone().requires_grad_(True) for t in tensors[:1]]
            popt = torch.optim.Adam(probe, fused=True, **kw)
            probe[0].grad = torch.zeros_like(probe[0])
            popt.step()
            return opt, "fused=True"
        except (RuntimeError, TypeError, ValueError) as exc:
            opt = torch.optim.Adam(tensors, foreach=True, **kw)
            return opt, f"foreach=True (fused unavailable: {str(exc).splitlines()[0][:80]})"
