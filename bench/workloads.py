"""The benchmark workloads, their synthetic data and their initial parameters.

Sizes: ``N`` samples, ``B`` batch, a layer maps ``n_in`` -> ``n_out``.
Parameters are a list of ``(W, b)`` float32 pairs, ``W`` of shape ``(n_in, n_out)`` and
``b`` of shape ``(n_out,)``, so a layer is literally ``inp @ W + b``.

FLOPs per training step (the number every GFLOP/s figure in this harness uses)::

    flops_per_step = 6 * n_weights * B,    n_weights = sum(n_in * n_out over layers)

i.e. 2 FLOPs per weight per sample for the forward matmul, 2 for the input gradient and 2 for
the weight gradient. Biases, activations, the loss and the Adam update are not counted
(they are O(n_params), not O(n_weights * B)); the first layer's input gradient is counted
although no trainer needs it, as is usual for this formula.
"""

from dataclasses import dataclass

import numpy as np

SEED = 0

# Adam hyperparameters shared by every implementation.
LR = 1e-3
BETA1 = 0.9
BETA2 = 0.999
EPS = 1e-8

ACTIVATIONS = ("relu",)
LOSSES = ("bce", "softmax_ce")  # bce: one sigmoid output from logits; softmax_ce: from logits


@dataclass(frozen=True)
class Workload:
    name: str
    sizes: tuple  # layer widths, input first, output last
    act: str  # hidden activation
    loss: str  # "bce" or "softmax_ce"
    n_samples: int
    batch: int

    @property
    def n_classes(self) -> int:
        return 2 if self.loss == "bce" else self.sizes[-1]

    @property
    def n_weights(self) -> int:
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_params(self) -> int:
        return self.n_weights + sum(self.sizes[1:])

    @property
    def flops_per_step(self) -> int:
        """6 * n_weights * B (forward, input gradient and weight gradient matmuls)."""
        return 6 * self.n_weights * self.batch

    @property
    def steps_per_epoch(self) -> int:
        """Full batches per epoch; a trailing partial batch is dropped by every impl."""
        return max(1, self.n_samples // self.batch)

    def describe(self) -> str:
        arch = "-".join(str(s) for s in self.sizes)
        return f"{arch} {self.act} {self.loss} N={self.n_samples} B={self.batch}"


WORKLOADS = {
    "W1": Workload("W1", (2, 8, 8, 1), "relu", "bce", 4, 4),
    "W2": Workload("W2", (30, 64, 64, 1), "relu", "bce", 100_000, 32),
    "W3": Workload("W3", (784, 256, 128, 10), "relu", "softmax_ce", 60_000, 128),
    "W4": Workload("W4", (1024, 2048, 2048, 10), "relu", "softmax_ce", 16_384, 256),
}

QUICK_WORKLOADS = ("W1", "W2", "W3")


def make_data(wl: Workload, seed: int = SEED):
    """Return ``X`` float32 (N, n_in) and ``Y`` int64 (N,) class labels (0/1 for BCE).

    W1 is exact XOR; the others are standard-normal ``X`` with uniformly random labels.
    """
    if wl.name == "W1":
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
        Y = np.array([0, 1, 1, 0], dtype=np.int64)
        return X, Y
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((wl.n_samples, wl.sizes[0]), dtype=np.float32)
    Y = rng.integers(0, wl.n_classes, size=wl.n_samples, dtype=np.int64)
    return X, Y


def encode_targets(wl: Workload, y):
    """Labels y (N,) as fastnn's float32 loss targets: a 0/1 column for BCE, one-hot rows else."""
    if wl.loss == "bce":
        return y.reshape(-1, 1).astype(np.float32)
    return np.eye(wl.sizes[-1], dtype=np.float32)[y]


def init_params(wl: Workload, seed: int = SEED):
    """He-normal weights (std sqrt(2 / n_in)), zero biases; float32; seeded."""
    rng = np.random.default_rng(seed + 1)
    params = []
    for n_in, n_out in zip(wl.sizes[:-1], wl.sizes[1:]):
        W = (rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)).astype(np.float32)
        b = np.zeros(n_out, dtype=np.float32)
        params.append((W, b))
    return params


def copy_params(params, dtype=np.float32):
    """Independent C-contiguous copies of ``params`` in ``dtype``."""
    return [(np.array(W, dtype=dtype, order="C"), np.array(b, dtype=dtype)) for W, b in params]


def first_batch(wl: Workload, X, Y):
    """The batch every ``one_step`` correctness check uses: the first ``B`` rows, unshuffled."""
    B = min(wl.batch, len(X))
    return X[:B], Y[:B]
