"""scikit-learn baseline: ``MLPClassifier(solver="adam", alpha=0)`` driven by ``partial_fit``.

Differences from the other impls, kept on purpose (this is how sklearn trains) and visible in
the correctness column:
- sklearn's output layer is a logistic unit for binary labels and softmax for multiclass, so the
  losses match ours (BCE / softmax CE, batch mean); it computes them from probabilities, not
  logits.
- sklearn's Adam folds the bias corrections into the step size,
  ``lr_t = lr * sqrt(1 - b2**t) / (1 - b1**t)`` and ``p -= lr_t * m / (sqrt(v) + eps)``,
  so its eps acts like ``eps / sqrt(1 - b2**t)`` in torch's formula (about 3.2e-7 instead of
  1e-8 at t = 1). Parameters whose gradient is ~1e-7 or smaller therefore move less.
- Each ``partial_fit`` call validates its input and runs one epoch over what it is given, so the
  harness feeds it a pre-shuffled chunk of ``n * B`` rows per ``run_steps`` call (one call per
  step for W1, where an epoch is one batch): the per-call overhead is part of what sklearn costs.
"""

import warnings

import numpy as np

from .workloads import BETA1, BETA2, EPS, LR, copy_params

try:
    from sklearn.neural_network import MLPClassifier
except ImportError:  # optional baseline
    MLPClassifier = None


class SklearnImpl:
    name = "sklearn"
    note = "MLPClassifier adam, alpha=0, partial_fit, float32 input"
    adam_eps = "sklearn"  # the harness also checks it against a reference with sklearn's eps

    @staticmethod
    def available() -> bool:
        return MLPClassifier is not None

    def __init__(self, wl, X, Y, params, threads):
        # sklearn has no thread option: BLAS threads are set by the harness (threadpoolctl).
        self.wl, self.X, self.Y = wl, np.ascontiguousarray(X, dtype=np.float32), Y
        self.params0 = copy_params(params)
        self.B = min(wl.batch, len(X))
        self.classes = np.arange(wl.n_classes)
        self.rng = np.random.default_rng(1234)
        self.perm, self.pos = None, 0
        self.clf = self._fresh(self.X[:self.B], Y[:self.B])

    def _fresh(self, xb, yb):
        """A classifier holding ``params0`` with fresh Adam state (t = 0, zero moments)."""
        clf = MLPClassifier(hidden_layer_sizes=self.wl.sizes[1:-1], activation=self.wl.act,
                            solver="adam", alpha=0.0, batch_size=self.B,
                            learning_rate_init=LR, beta_1=BETA1, beta_2=BETA2, epsilon=EPS,
                            shuffle=False, random_state=0, n_iter_no_change=10**9, tol=0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(xb, yb, classes=self.classes)  # initialises shapes and label binarizer
        expected = [W.shape for W, _ in self.params0]
        got = [c.shape for c in clf.coefs_]
        if got != expected:
            raise RuntimeError(f"sklearn layer shapes {got} differ from workload {expected}")
        clf.coefs_ = [W.copy() for W, _ in self.params0]
        clf.intercepts_ = [b.copy() for _, b in self.params0]
        del clf._optimizer  # partial_fit builds a new AdamOptimizer when this is missing
        return clf

    def one_step(self, xb, yb):
        clf = self._fresh(xb, yb)
        clf.partial_fit(np.ascontiguousarray(xb, dtype=np.float32), yb)
        return [(W.astype(np.float64), b.astype(np.float64))
                for W, b in zip(clf.coefs_, clf.intercepts_)]

    def run_steps(self, n):
        B, N = self.B, len(self.X)
        done = 0
        while done < n:
            if self.perm is None or self.pos + B > N:
                self.perm, self.pos = self.rng.permutation(N), 0  # per-epoch shuffle
            k = min(n - done, (N - self.pos) // B)
            idx = self.perm[self.pos:self.pos + k * B]
            self.pos += k * B
            self.clf.partial_fit(self.X[idx], self.Y[idx])  # k steps, one per batch of B
            done += k
        return done
