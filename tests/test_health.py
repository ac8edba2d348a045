"""Training health: warnings, the 15-layer vanishing-gradient case, divergence recovery."""
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import health
from fastnn.diagnose import diagnose


def fit_warnings(X, y, **kw):
    """Fit an MLP and return the messages of the FastnnWarnings it emitted."""
    fit_kw = {k: kw.pop(k) for k in list(kw) if k in (
        "epochs", "lr", "batch_size", "optimizer", "clip_norm", "l2", "validation_split",
        "patience")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fastnn.MLP(**kw).fit(X, y, **{"epochs": 3, **fit_kw})
    return model, [str(w.message) for w in caught if issubclass(w.category, fastnn.FastnnWarning)]


@pytest.fixture(scope="module")
def big_data():
    """2000 rows, 5 features, a smooth binary target: enough rows per parameter."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 > 0.5).astype(int)
    return X, y


def test_healthy_relu_network_is_silent(big_data):
    """A small ReLU/He network on standardised data with enough rows raises no warning."""
    X, y = big_data
    _, msgs = fit_warnings(X, y, hidden=(8, 8), epochs=5)
    assert msgs == []


def test_vanishing_gradients_15_sigmoid_layers():
    """15 sigmoid layers of width 8 on breast_cancer: >= 3 layers below 1e-8 at init; ReLU/He none."""
    data = fastnn.load_dataset("breast_cancer")
    sig = diagnose(data.X, data.y, hidden=(8,) * 15, activation="sigmoid", epochs=1, seed=0)
    relu = diagnose(data.X, data.y, hidden=(8,) * 15, activation="relu", epochs=1, seed=0)
    g_sig = np.array(sig.model.history_["init"]["grad_norm_W"])
    g_relu = np.array(relu.model.history_["init"]["grad_norm_W"])
    assert sig.model.init_ == "xavier" and relu.model.init_ == "he"
    assert np.sum(g_sig < 1e-8) >= 3
    assert np.all(g_sig[:3] < 1e-8)          # it is the first layers that freeze
    assert np.sum(g_relu < 1e-8) == 0
    assert g_relu[0] > 1e-4
    assert any("vanishing gradients" in w and "layers 1, 2, 3" in w for w in sig.warnings)
    assert not any("vanishing" in w for w in relu.warnings)
    # deterministic by seed
    again = diagnose(data.X, data.y, hidden=(8,) * 15, activation="sigmoid", epochs=1, seed=0)
    assert again.model.history_["init"]["grad_norm_W"] == list(g_sig)


def test_deep_sigmoid_warns_at_construction(big_data):
    """Sigmoid in several hidden layers is named as a vanishing-gradient risk before training."""
    X, y = big_data
    _, msgs = fit_warnings(X, y, hidden=(8, 8, 8), activation="sigmoid", epochs=1)
    assert any("sigmoid in 3 hidden layers" in m for m in msgs)


def test_identity_hidden_layers_warn(big_data):
    """Identity hidden activation: the warning says the network is one linear map."""
    X, y = big_data
    _, msgs = fit_warnings(X, y, hidden=(8,), activation="identity", epochs=1)
    assert any("one linear map" in m for m in msgs)


def test_unscaled_inputs_warn_names_features(big_data):
    """Standardisation off with feature scales 1 vs 1e4: the small features are named."""
    X, y = big_data
    X = X.copy()
    X[:, 4] *= 1e4
    _, msgs = fit_warnings(X, y, hidden=(8,), standardize=False, epochs=1, lr=1e-4)
    msg = [m for m in msgs if "not standardised" in m]
    assert len(msg) == 1
    assert "std of x4" in msg[0] and "x0" in msg[0]
    _, msgs_on = fit_warnings(X, y, hidden=(8,), epochs=1)
    assert not any("not standardised" in m for m in msgs_on)


def test_too_many_parameters_warn(big_data):
    """Fewer than 10 rows per parameter warns without early stopping; with it, only more than
    100 parameters per row does (5-64-64-1 has 4,609 parameters)."""
    X, y = big_data
    _, msgs = fit_warnings(X[:100], y[:100], hidden=(64, 64), epochs=1)
    assert any("rows per parameter" in m and "100 training rows" in m for m in msgs)
    es = dict(hidden=(64, 64), epochs=1, validation_split=0.2, patience=5)
    _, msgs = fit_warnings(X[:50], y[:50], **es)                   # 40 rows: 115 per row
    assert any("more than 100 per row" in m and "40 training rows" in m for m in msgs)
    _, msgs = fit_warnings(X[:100], y[:100], **es)                 # 80 rows: 58 per row
    assert not any("parameters for" in m for m in msgs)


def test_dead_units_warn():
    """ReLU units pushed to negative pre-activations for every row are reported dead."""
    rng = np.random.default_rng(1)
    X = rng.random((3000, 4)) * 100 + 100
    y = (X[:, 0] > 150).astype(int)
    # Large positive unscaled inputs and a high SGD learning rate: the first updates drive
    # every unit's pre-activation negative for all rows, and they never come back.
    model, msgs = fit_warnings(X, y, hidden=(32,), optimizer="sgd", lr=0.1, epochs=2,
                               l2=0.0, standardize=False)
    dead = model.history_["dead_fraction"][-1][0]
    assert dead > 0.5
    assert any("dead units" in m and "hidden layer 1" in m for m in msgs)


def test_saturation_warns():
    """Huge unstandardised inputs saturate a tanh layer; the warning names the layer."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2000, 3)) * 50.0
    y = (X[:, 0] > 0).astype(int)
    model, msgs = fit_warnings(X, y, hidden=(16,), activation="tanh", standardize=False,
                               epochs=1, lr=1e-4)
    assert model.history_["saturated_fraction"][-1][0] > 0.5
    assert any("saturation" in m and "hidden layer 1" in m for m in msgs)


def test_gradient_warning_thresholds():
    """The vanishing rule: any layer < 1e-8, or first/last ratio < 1e-4; silent otherwise."""
    assert health.gradient_warnings([1e-3, 1e-2, 1e-1]) == []
    assert "below 1e-08" in health.gradient_warnings([1e-9, 1e-2, 1e-1])[0]
    assert "of the last layer" in health.gradient_warnings([1e-6, 1e-3, 1e-1])[0]


def test_recovery_from_learning_rate_1000x_too_high():
    """Adam at lr 1.0 (1000x the default) diverges, recovers by dividing lr, ends finite."""
    data = fastnn.load_dataset("breast_cancer")
    events = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fastnn.MLP(hidden=(64, 64), seed=0).fit(
            data.X, data.y, epochs=20, lr=1.0, callback=lambda r: events.append(r))
    rec = model.history_["recoveries"]
    assert 1 <= len(rec) <= 3
    assert rec[0]["old_lr"] == 1.0 and rec[0]["new_lr"] == pytest.approx(0.1)
    assert model.history_["lr"][-1] == pytest.approx(rec[-1]["new_lr"])
    assert np.isfinite(model.history_["loss"][-1])
    assert np.all(np.isfinite(model.net_.params))
    assert [e for e in events if e.get("event") == "recovered"][0]["epoch"] == rec[0]["epoch"]
    assert model.score(data.X, data.y) > 0.9


def test_unrecoverable_divergence_is_a_clear_error():
    """When 3 recoveries are not enough the fit raises DivergenceError naming the epoch and lr."""
    data = fastnn.load_dataset("breast_cancer")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(fastnn.DivergenceError, match=r"epoch 1 .*3 recoveries.*0\.01"):
            fastnn.MLP(hidden=(64, 64), standardize=False, seed=0).fit(
                data.X, data.y, epochs=5, optimizer="sgd", lr=10.0)
        with pytest.raises(fastnn.DivergenceError, match="divide it by 10"):
            fastnn.MLP(hidden=(64, 64), standardize=False, seed=0).fit(
                data.X, data.y, epochs=5, optimizer="sgd", lr=10.0, recover=False)


def test_nan_validation_loss_never_improves(monkeypatch):
    """Early stopping ignores a NaN validation loss: it never becomes the best."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 3))
    y = rng.standard_normal(300)
    Xv, yv = rng.standard_normal((50, 3)), rng.standard_normal(50)
    real = fastnn.metrics.mean_loss
    # the validation set (50 rows) gets a NaN loss, the training rows their real one
    monkeypatch.setattr(fastnn.metrics, "mean_loss",
                        lambda z, Y, code: float("nan") if len(z) == 50 else real(z, Y, code))
    model = fastnn.MLP(hidden=(4,), task="regression").fit(
        X, y, validation_data=(Xv, yv), patience=2, epochs=50)
    h = model.history_
    assert not np.isfinite(h["val_loss"][0])
    assert h["stopped_early"] and len(h["epoch"]) == 2
    assert h["best_val_loss"] is None


def test_values_overflowing_float32_are_an_error():
    """Inputs that overflow float32 after scaling are reported, not silently turned to inf."""
    X = np.ones((20, 2))
    X[3, 1] = 1e300
    with pytest.raises(fastnn.DataError, match=r"X\[3, 1\].*float64"):
        fastnn.MLP(hidden=(4,), standardize=False).fit(X, np.arange(20) % 2, epochs=1)


def test_non_finite_validation_target_is_an_error():
    """A NaN in the validation target is bad data, reported as such."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((100, 3)), rng.standard_normal(100)
    with pytest.raises(fastnn.DataError, match="non-finite"):
        fastnn.MLP(hidden=(4,)).fit(X, y, validation_data=(X[:10], np.full(10, np.nan)))


def test_history_records_health_per_epoch(big_data):
    """history_ keeps per-layer W and b norms, lr, clipping fraction; saved with the model."""
    X, y = big_data
    model, _ = fit_warnings(X, y, hidden=(8, 8), epochs=4, clip_norm=1e-3)
    h = model.history_
    assert len(h["grad_norm_W"]) == 4 and len(h["grad_norm_W"][0]) == 3
    assert len(h["grad_norm_b"][0]) == 3
    assert all(c == 1.0 for c in h["clipped"])        # a 1e-3 clip fires on every step
    assert h["lr"] == [0.001] * 4
    assert len(h["dead_fraction"][0]) == 2 and h["saturated_fraction"][0] == [None, None]
