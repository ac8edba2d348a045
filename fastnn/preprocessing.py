"""Input scaling, target encoding and task inference."""
import numpy as np

from .exceptions import DataError

#: An integer-valued numeric target with at most this many distinct values is
#: taken as class labels; otherwise it is a regression target.
MAX_AUTO_CLASSES = 20


def plain(v):
    """A NumPy scalar as the Python value it holds (for messages: 3, not np.int64(3))."""
    return v.item() if isinstance(v, np.generic) else v


class Standardizer:
    """Per-feature (x - mean) / std with statistics of the training split.

    Features with zero variance get std 1 (they become constant 0), so no
    division by zero; their indices are kept in ``constant_``.
    """

    def fit(self, X, names=None):
        X = np.asarray(X, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            self.mean_ = X.mean(axis=0)
            std = X.std(axis=0)
        bad = np.flatnonzero(~np.isfinite(self.mean_) | ~np.isfinite(std))
        if len(bad):
            c = bad[0]
            name = names[c] if names is not None else f"column {c}"
            raise DataError(f"feature {name}: values too large to standardise (largest "
                            f"|value| {np.abs(X[:, c]).max():.3g}); rescale this column")
        self.constant_ = np.flatnonzero(~(std > 0))
        std[self.constant_] = 1.0
        self.std_ = std
        return self

    def transform(self, X, dtype=np.float64):
        out = (np.asarray(X, dtype=np.float64) - self.mean_) / self.std_
        return np.ascontiguousarray(out, dtype=dtype)


def infer_task(y):
    """'binary', 'multiclass' or 'regression' for a 1-D target array."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return "regression" if y.dtype.kind == "f" else "multiclass"
    y = y.reshape(-1)
    if y.dtype.kind in "fiub":
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)):
                raise DataError("target has missing or non-finite values")
            integral = np.all(y == np.round(y))
        else:
            integral = True
        n = len(np.unique(y))
        if not integral or n > MAX_AUTO_CLASSES:
            return "regression"
    else:
        n = len(np.unique(y.astype(str)))
    if n < 2:
        raise DataError(f"target has a single value ({plain(y[0])}): nothing to learn")
    return "binary" if n == 2 else "multiclass"


def classes_of(y):
    """The sorted distinct labels of y, as a NumPy array (numbers or strings)."""
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind not in "fiub":
        y = y.astype(str)
    return np.unique(y)


def encode_classes(y, classes):
    """Indices of y's labels in classes; DataError for an unknown label."""
    y = np.asarray(y).reshape(-1)
    if classes.dtype.kind in "U" and y.dtype.kind not in "U":
        y = y.astype(str)
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, len(classes) - 1)
    bad = classes[idx] != y
    if np.any(bad):
        first = y[np.flatnonzero(bad)[0]]
        raise DataError(f"label {plain(first)!r} was not seen in training (classes: "
                        f"{', '.join(map(str, classes[:10]))})")
    return idx


def one_hot(idx, n):
    Y = np.zeros((len(idx), n))
    Y[np.arange(len(idx)), idx] = 1.0
    return Y


def split_indices(n, fraction, rng, labels=None):
    """(train, validation) row indices; stratified by labels when given."""
    if fraction <= 0:
        return np.arange(n), np.arange(0)
    if labels is None:
        perm = rng.permutation(n)
        n_val = max(1, int(round(fraction * n)))
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    val = []
    for c in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == c))
        val.append(rows[:int(round(fraction * len(rows)))])
    val = np.sort(np.concatenate(val))
    if len(val) == 0:
        val = np.sort(rng.permutation(n)[:1])
    train = np.setdiff1d(np.arange(n), val)
    return train, val


def train_test_split(X, y, test_size=0.25, seed=0, stratify=True):
    """Split arrays into (X_train, X_test, y_train, y_test), stratified for labels."""
    if not 0 < test_size < 1:
        raise DataError(f"test_size must be between 0 and 1 (exclusive), got {test_size!r}")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise DataError(f"X has {len(X)} rows but y has {len(y)}")
    labels = None
    if stratify and infer_task(y) != "regression":
        labels = encode_classes(y, classes_of(y))
    tr, te = split_indices(len(X), test_size, np.random.default_rng(seed), labels)
    return X[tr], X[te], y[tr], y[te]
