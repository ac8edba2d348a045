"""End-to-end learning: the MLP fits XOR and real data, and fit's contract holds
(labels, scaling statistics, constant features, seeding, history, early stopping)."""
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.preprocessing import classes_of, encode_classes, split_indices


@pytest.fixture(autouse=True)
def _quiet_fastnn_warnings():
    # tiny data sets trigger the "too many parameters per row" advice; not under test here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnn.FastnnWarning)
        yield


# ---------------------------------------------------------------------------
# XOR
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("hidden, activation, lr", [((16,), "tanh", 0.05),
                                                    ((16, 16), "relu", 0.02)])
def test_xor_exact_four_points_every_seed(hidden, activation, lr):
    """XOR (not linearly separable) is learned perfectly with hidden layers, for 10 seeds."""
    X, y = fastnn.make_xor()
    assert X.shape == (4, 2) and list(y) == [0, 1, 1, 0]
    failed = []
    for seed in range(10):
        model = fastnn.MLP(hidden=hidden, activation=activation, seed=seed)
        model.fit(X, y, epochs=300, batch_size=4, lr=lr, l2=0.0)
        acc = float(np.mean(model.predict(X) == y))
        p_true = model.predict_proba(X)[np.arange(4), y]
        if acc != 1.0 or p_true.min() <= 0.5:
            failed.append((seed, acc, p_true.round(3).tolist()))
    assert not failed, f"XOR not learned for (seed, accuracy, p(true class)): {failed}"


def test_xor_linear_model_cannot_fit():
    """Without hidden layers XOR is not learnable (so the XOR test measures the hidden layers)."""
    X, y = fastnn.make_xor()
    model = fastnn.MLP(hidden=(), seed=0).fit(X, y, epochs=300, batch_size=4, lr=0.05, l2=0.0)
    assert np.mean(model.predict(X) == y) <= 0.75


# ---------------------------------------------------------------------------
# Real data, held-out split
# ---------------------------------------------------------------------------
REAL = [("breast_cancer", 0.95), ("digits", 0.95), ("iris", 0.93), ("diabetes", 0.35)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, threshold", REAL)
def test_real_data_held_out_score(name, threshold, dtype):
    """Mean held-out accuracy (R^2 for diabetes) over 3 stratified splits clears the bar."""
    data = fastnn.load_dataset(name)
    scores = []
    for seed in (0, 1, 2):
        Xtr, Xte, ytr, yte = fastnn.train_test_split(data.X, data.y, seed=seed)
        assert len(Xtr) + len(Xte) == len(data.X)
        model = fastnn.MLP(dtype=dtype, seed=seed)
        model.fit(Xtr, ytr, validation_split=0.2, patience=20)
        assert model.net_.params.dtype == np.dtype(dtype)
        scores.append(model.score(Xte, yte))
    assert np.all(np.isfinite(scores))
    assert np.mean(scores) >= threshold, f"{name} ({dtype}) held-out scores {scores}"


def test_train_test_split_is_stratified_and_disjoint():
    """train_test_split keeps class proportions and neither loses nor repeats rows."""
    data = fastnn.load_dataset("iris")
    X = np.c_[data.X, np.arange(len(data.X))]       # row ids ride along as a column
    Xtr, Xte, ytr, yte = fastnn.train_test_split(X, data.y, test_size=0.2, seed=0)
    ids = np.r_[Xtr[:, -1], Xte[:, -1]]
    assert sorted(ids.tolist()) == list(range(150))
    for c in np.unique(data.y):
        assert np.sum(yte == c) == 10               # 50 per class, 20 % each


# ---------------------------------------------------------------------------
# Labels of any kind
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("labels", [("setosa", "versicolor", "virginica"), (3, 7, 9),
                                    (-5, 0, 12)], ids=["strings", "ints-3-7-9", "ints-neg"])
def test_multiclass_predict_returns_original_labels(labels):
    """Multiclass labels that are strings or integers not starting at 0 come back as given."""
    data = fastnn.load_dataset("iris")
    codes = encode_classes(data.y, classes_of(data.y))
    y = np.array(labels)[codes]
    model = fastnn.MLP(hidden=(16,), seed=0).fit(data.X, y, epochs=100, lr=0.01, l2=0.0)
    assert model.task_ == "multiclass"
    assert list(model.classes_) == sorted(labels)
    pred = model.predict(data.X)
    assert pred.dtype.kind == y.dtype.kind
    assert set(pred.tolist()) <= set(labels)
    assert np.mean(pred == y) >= 0.9
    assert model.predict_proba(data.X).shape == (150, 3)
    # the labels are only names: training on the codes 0..2 gives the same network
    ref = fastnn.MLP(hidden=(16,), seed=0).fit(data.X, codes, epochs=100, lr=0.01, l2=0.0)
    assert np.array_equal(ref.net_.params, model.net_.params)
    assert np.array_equal(np.array(labels)[ref.predict(data.X)], pred)


@pytest.mark.parametrize("labels", [("no", "yes"), (-1, 1), (4, 10)])
def test_binary_predict_returns_original_labels(labels):
    """Binary labels of any kind (strings, -1/1, 4/10) come back as given."""
    X, codes = fastnn.make_moons(n_samples=200, noise=0.1, seed=0)
    y = np.array(labels)[codes]
    model = fastnn.MLP(hidden=(16,), seed=0).fit(X, y, epochs=100, lr=0.01, l2=0.0)
    assert model.task_ == "binary"
    pred = model.predict(X)
    assert set(pred.tolist()) == set(labels)
    assert np.mean(pred == y) >= 0.95
    assert model.predict_proba(X).shape == (200, 2)
    ref = fastnn.MLP(hidden=(16,), seed=0).fit(X, codes, epochs=100, lr=0.01, l2=0.0)
    assert np.array_equal(ref.net_.params, model.net_.params)
    assert np.array_equal(np.array(labels)[ref.predict(X)], pred)


# ---------------------------------------------------------------------------
# Standardisation
# ---------------------------------------------------------------------------
def test_scaler_statistics_come_from_training_data_only():
    """With validation_data the scaler's mean/std are exactly those of X_train."""
    X, y = fastnn.make_moons(n_samples=200, noise=0.1, seed=0)
    Xv, yv = fastnn.make_moons(n_samples=100, noise=0.1, seed=1)
    Xv = Xv * 10.0 + 100.0                        # very different from the training rows
    model = fastnn.MLP(hidden=(8,), seed=0).fit(X, y, epochs=3, validation_data=(Xv, yv))
    assert np.array_equal(model.scaler_.mean_, X.mean(axis=0))
    assert np.array_equal(model.scaler_.std_, X.std(axis=0))
    both = np.vstack([X, Xv]).mean(axis=0)
    assert not np.allclose(model.scaler_.mean_, both)


def test_scaler_statistics_exclude_validation_split_rows():
    """With validation_split the scaler's mean is that of the training rows of the split."""
    X, y = fastnn.make_moons(n_samples=200, noise=0.1, seed=0)
    X[y == 1] += 50.0                             # class shift makes a wrong split visible
    model = fastnn.MLP(hidden=(8,), seed=5).fit(X, y, epochs=3, validation_split=0.3)
    # fit's first use of its generator is the stratified split
    tr, va = split_indices(len(X), 0.3, np.random.default_rng(5), y)
    assert len(va) == 60 and len(tr) == 140
    np.testing.assert_allclose(model.scaler_.mean_, X[tr].mean(axis=0), rtol=1e-12)
    assert not np.allclose(model.scaler_.mean_, X.mean(axis=0), rtol=1e-6)
    assert model.samples_seen_ == model.n_epochs_ * 140


def test_constant_features_do_not_divide_by_zero():
    """Zero-variance columns get std 1: training and prediction stay finite."""
    X, y = fastnn.make_moons(n_samples=200, noise=0.1, seed=0)
    X = np.c_[X, np.full(len(X), 5.0), np.zeros(len(X))]
    with np.errstate(all="raise"):
        model = fastnn.MLP(hidden=(8,), seed=0).fit(X, y, epochs=30, l2=0.0)
    assert list(model.scaler_.constant_) == [2, 3]
    assert model.scaler_.std_[2] == 1.0 and model.scaler_.std_[3] == 1.0
    assert np.all(np.isfinite(model.net_.params))
    X_new = X.copy()
    X_new[:, 2] = -3.0                            # a value never seen in training
    assert np.all(np.isfinite(model.decision_function(X_new)))
    assert np.all(np.isfinite(model.predict_proba(X_new)))
    assert np.mean(model.predict(X) == y) >= 0.85


def test_regression_constant_feature_finite():
    """A constant input column in regression gives finite predictions too."""
    data = fastnn.load_dataset("diabetes")
    X = np.c_[data.X, np.ones(len(data.X))]
    model = fastnn.MLP(hidden=(16,), seed=0).fit(X, data.y, epochs=20)
    pred = model.predict(X)
    assert pred.shape == (len(X),) and np.all(np.isfinite(pred))
    assert model.score(X, data.y) > 0.3


# ---------------------------------------------------------------------------
# Seeding
# ---------------------------------------------------------------------------
def _fit_moons(seed):
    X, y = fastnn.make_moons(n_samples=200, noise=0.2, seed=0)
    return fastnn.MLP(hidden=(16, 8), seed=seed).fit(X, y, epochs=15, validation_split=0.2)


def test_same_seed_gives_identical_params():
    """Two fits with the same seed produce bit-identical weights and history."""
    a, b = _fit_moons(7), _fit_moons(7)
    assert np.array_equal(a.net_.params, b.net_.params)
    assert a.history_["loss"] == b.history_["loss"]
    assert a.history_["val_loss"] == b.history_["val_loss"]


def test_different_seeds_give_different_params():
    """Different seeds give different initial and final weights."""
    a, b = _fit_moons(7), _fit_moons(8)
    assert a.net_.params.shape == b.net_.params.shape
    assert not np.array_equal(a.net_.params, b.net_.params)
    assert a.history_["loss"] != b.history_["loss"]


def test_large_seeds_fit_without_numpy_overflow_warning():
    """Seeding the shuffle generator with a large seed raises no NumPy RuntimeWarning."""
    X, y = fastnn.make_moons(n_samples=50, noise=0.2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for seed in (7, 12345, 2**63 - 1):
            model = fastnn.MLP(hidden=(4,), seed=seed).fit(X, y, epochs=2)
            assert model.seed_ == seed and np.all(np.isfinite(model.net_.params))


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------
def test_history_has_one_entry_per_epoch_and_layer():
    """history_ holds per-epoch loss/val_loss/val_metric and per-layer gradient norms."""
    X, y = fastnn.make_moons(n_samples=200, noise=0.2, seed=0)
    model = fastnn.MLP(hidden=(8, 5), seed=0).fit(X, y, epochs=12, validation_split=0.25)
    h = model.history_
    assert model.n_epochs_ == 12
    assert h["epoch"] == list(range(1, 13))
    for key in ("loss", "val_loss", "val_metric", "grad_norm_W", "grad_norm_b"):
        assert len(h[key]) == 12, key
    assert all(np.isfinite(v) and v > 0 for v in h["loss"])
    assert all(np.isfinite(v) and v > 0 for v in h["val_loss"])
    assert all(0.0 <= v <= 1.0 for v in h["val_metric"])
    assert h["metric_name"] == "accuracy"
    for gw, gb in zip(h["grad_norm_W"], h["grad_norm_b"]):
        assert len(gw) == 3 and len(gb) == 3          # 2 hidden layers + output layer
        assert all(np.isfinite(g) and g > 0 for g in gw)
        assert all(np.isfinite(g) and g >= 0 for g in gb)
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_loss"][-1] < h["val_loss"][0]


def test_history_without_validation_has_none_val_entries():
    """Without validation data every epoch is still recorded, val entries are None."""
    X, y = fastnn.make_moons(n_samples=100, noise=0.2, seed=0)
    model = fastnn.MLP(hidden=(4,), seed=0).fit(X, y, epochs=25)
    h = model.history_
    assert len(h["loss"]) == len(h["grad_norm_W"]) == 25
    assert h["val_loss"] == [None] * 25 and h["val_metric"] == [None] * 25
    assert all(len(g) == 2 for g in h["grad_norm_W"])
    assert model.samples_seen_ == 25 * 100


def test_regression_history_metric_is_r2():
    """Regression validation metric is R^2 (can be compared with score on the same rows)."""
    data = fastnn.load_dataset("diabetes")
    Xtr, Xva, ytr, yva = fastnn.train_test_split(data.X, data.y, seed=0)
    model = fastnn.MLP(hidden=(16,), seed=0).fit(Xtr, ytr, epochs=5, validation_data=(Xva, yva))
    h = model.history_
    assert h["metric_name"] == "r2"
    assert h["val_metric"][-1] == pytest.approx(model.score(Xva, yva), rel=1e-6, abs=1e-9)


# ---------------------------------------------------------------------------
# Early stopping
# ---------------------------------------------------------------------------
def test_early_stopping_stops_and_restores_best_weights():
    """On an overfitting setup training stops early and keeps the best-val-loss weights."""
    X, y = fastnn.make_moons(n_samples=40, noise=0.45, seed=0)
    Xv, yv = fastnn.make_moons(n_samples=400, noise=0.45, seed=1)
    epochs, patience = 2000, 10
    model = fastnn.MLP(hidden=(128, 128), seed=0)
    model.fit(X, y, epochs=epochs, batch_size=40, lr=0.001, l2=0.0, validation_data=(Xv, yv),
              patience=patience)
    h = model.history_
    assert h["stopped_early"] is True
    assert model.n_epochs_ < epochs
    best = int(np.argmin(h["val_loss"]))
    assert best > 0                               # validation loss first fell, then rose
    assert model.n_epochs_ == best + 1 + patience
    assert h["best_val_loss"] == pytest.approx(h["val_loss"][best], rel=1e-12)
    # the weights in the model are those of the best epoch, not of the last one
    restored = model.evaluate(Xv, yv)["loss"]
    assert restored == pytest.approx(h["val_loss"][best], rel=1e-6)
    assert restored < h["val_loss"][-1]
    # it really overfitted: training loss kept falling after the best validation epoch
    assert h["loss"][-1] < h["loss"][best]


def test_engine_choice_is_validated_recorded_and_does_not_change_the_model():
    """fit(engine=...) forces a mode (recorded in engine_); split trains the same model as serial."""
    data = fastnn.load_dataset("iris")
    X, y = data.X, data.y
    with pytest.raises(fastnn.ParameterError, match="engine.*auto, serial, blas, split"):
        fastnn.MLP(hidden=(8,)).fit(X, y, epochs=1, engine="turbo")
    models = {e: fastnn.MLP(hidden=(16, 8), seed=3).fit(X, y, epochs=20, engine=e)
              for e in ("serial", "split", "auto")}
    assert models["split"].engine_ == {"mode": "split", "calibration": None}
    assert models["auto"].engine_ == {"mode": "serial", "calibration": None}   # small: the rule
    np.testing.assert_allclose(models["split"].net_.params, models["serial"].net_.params,
                               rtol=1e-4, atol=1e-5)
    assert np.array_equal(models["auto"].net_.params, models["serial"].net_.params)
