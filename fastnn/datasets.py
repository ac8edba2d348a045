"""Bundled real datasets and synthetic generators.

The real datasets are the scikit-learn copies exported as CSV (provenance in
``fastnn/data/README.md``).  Generators return float64 X and integer labels.
"""
import gzip
import importlib.resources

import numpy as np

from .exceptions import DataError
from .io import Table, parse_csv

#: name -> (file, target column, task, description)
BUNDLED = {
    "breast_cancer": ("breast_cancer.csv.gz", "diagnosis", "binary",
                      "Wisconsin diagnostic breast cancer (UCI)"),
    "digits": ("digits.csv.gz", "digit", "multiclass", "8x8 handwritten digits (UCI)"),
    "iris": ("iris.csv.gz", "species", "multiclass", "Fisher's iris (UCI)"),
    "wine": ("wine.csv.gz", "cultivar", "multiclass", "wine recognition (UCI)"),
    "diabetes": ("diabetes.csv.gz", "progression", "regression",
                 "diabetes progression (Efron et al. 2004)"),
}


def make_xor(n_samples=4, noise=0.0, seed=0):
    """XOR: the four corners of the unit square (n_samples=4, noise=0 is exact);
    more samples are corners drawn at random plus Gaussian noise."""
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    if n_samples == 4 and noise == 0:
        X = corners
    else:
        rng = np.random.default_rng(seed)
        X = corners[rng.integers(0, 4, n_samples)] + noise * rng.standard_normal((n_samples, 2))
        return X, (np.round(X[:, 0]).clip(0, 1) != np.round(X[:, 1]).clip(0, 1)).astype(int)
    return X, np.array([0, 1, 1, 0])


def make_moons(n_samples=400, noise=0.1, seed=0):
    """Two interleaving half circles."""
    rng = np.random.default_rng(seed)
    n1 = n_samples // 2
    t1 = np.pi * rng.random(n1)
    t2 = np.pi * rng.random(n_samples - n1)
    X = np.vstack([np.c_[np.cos(t1), np.sin(t1)], np.c_[1 - np.cos(t2), 0.5 - np.sin(t2)]])
    y = np.r_[np.zeros(n1, int), np.ones(n_samples - n1, int)]
    return X + noise * rng.standard_normal(X.shape), y


def make_circles(n_samples=400, noise=0.05, factor=0.5, seed=0):
    """A small circle inside a large one."""
    rng = np.random.default_rng(seed)
    n1 = n_samples // 2
    t = 2 * np.pi * rng.random(n_samples)
    r = np.r_[np.ones(n1), np.full(n_samples - n1, factor)]
    X = np.c_[r * np.cos(t), r * np.sin(t)]
    y = np.r_[np.zeros(n1, int), np.ones(n_samples - n1, int)]
    return X + noise * rng.standard_normal(X.shape), y


def make_spirals(n_samples=600, n_classes=3, noise=0.2, seed=0):
    """Interleaved spiral arms, one class per arm (CS231n's classic toy set)."""
    rng = np.random.default_rng(seed)
    per = np.full(n_classes, n_samples // n_classes)
    per[: n_samples - per.sum()] += 1
    X, y = [], []
    for k, m in enumerate(per):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, m) + noise * rng.standard_normal(m)
        X.append(np.c_[r * np.sin(t), r * np.cos(t)])
        y.append(np.full(m, k))
    return np.vstack(X), np.concatenate(y)


GENERATED = {
    "xor": (make_xor, dict(n_samples=400, noise=0.15), "binary", "noisy XOR of 2 inputs"),
    "moons": (make_moons, {}, "binary", "two interleaving half circles"),
    "circles": (make_circles, {}, "binary", "concentric circles"),
    "spirals": (make_spirals, {}, "multiclass", "3 interleaved spirals"),
}


def dataset_names():
    return tuple(BUNDLED) + tuple(GENERATED)


def load_dataset(name, seed=0):
    """A bundled or generated dataset as a :class:`fastnn.io.Table`."""
    if name in BUNDLED:
        fname, target, _, _ = BUNDLED[name]
        ref = importlib.resources.files("fastnn") / "data" / fname
        with ref.open("rb") as raw, gzip.open(raw, "rt", newline="") as f:
            return parse_csv(f, f"dataset {name}", target=target)
    if name in GENERATED:
        gen, kw, _, _ = GENERATED[name]
        X, y = gen(seed=seed, **kw)
        return Table(X, y, [f"x{i}" for i in range(X.shape[1])], "label", f"dataset {name}")
    raise DataError(f"no dataset named {name!r} (choose from {', '.join(dataset_names())})")


def describe_datasets():
    """One dict per dataset: name, rows, features, task, description."""
    out = []
    for name in dataset_names():
        t = load_dataset(name)
        task = (BUNDLED.get(name) or GENERATED[name])[2]
        desc = (BUNDLED.get(name) or GENERATED[name])[3]
        out.append(dict(name=name, rows=t.X.shape[0], features=t.X.shape[1], task=task,
                        target=t.target, description=desc))
    return out
