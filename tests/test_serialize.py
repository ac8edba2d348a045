"""Saving and loading models: one pickle-free .npz that predicts exactly what the
saved model did; files that are not models give a clear DataError."""
import json
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import DataError
from fastnn.serialize import FORMAT_VERSION


@pytest.fixture(autouse=True)
def _quiet_fastnn_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastnn.FastnnWarning)
        yield


def _binary():
    X, y = fastnn.make_moons(n_samples=120, noise=0.2, seed=0)
    return X, y


def _multiclass_strings():
    d = fastnn.load_dataset("iris")
    assert d.y.dtype.kind == "U"
    return d.X, d.y


def _regression():
    d = fastnn.load_dataset("diabetes")
    return d.X, d.y


PROBLEMS = {"binary": _binary, "multiclass": _multiclass_strings, "regression": _regression}


def _fit(task, dtype, **kw):
    X, y = PROBLEMS[task]()
    model = fastnn.MLP(hidden=(8, 4), dtype=dtype, seed=1, **kw)
    model.fit(X, y, epochs=5, validation_split=0.2)
    assert model.task_ == task
    return model, X, y


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("task", sorted(PROBLEMS))
def test_round_trip_predicts_identically(tmp_path, task, dtype):
    """A loaded model gives bit-identical predict / predict_proba / decision_function."""
    model, X, y = _fit(task, dtype)
    path = model.save(tmp_path / "m.npz")
    loaded = fastnn.load(path)
    assert loaded.task_ == task
    assert loaded.net_.params.dtype == np.dtype(dtype)
    assert np.array_equal(loaded.net_.params, model.net_.params)
    assert np.array_equal(loaded.decision_function(X), model.decision_function(X))
    p_saved, p_loaded = model.predict(X), loaded.predict(X)
    assert p_loaded.dtype == p_saved.dtype
    assert np.array_equal(p_loaded, p_saved)
    if task == "regression":
        with pytest.raises(fastnn.ParameterError):
            loaded.predict_proba(X)
        assert loaded.score(X, y) == model.score(X, y)
    else:
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
        assert np.array_equal(loaded.classes_, model.classes_)
        assert set(p_loaded.tolist()) <= set(y.tolist())
    assert loaded.evaluate(X, y) == model.evaluate(X, y)


def test_round_trip_keeps_metadata(tmp_path):
    """Architecture, feature names, scaler, history and seed survive the round trip."""
    model, X, y = _fit("multiclass", "float32", activation="tanh")
    model.fit(X, y, epochs=3, feature_names=["sl", "sw", "pl", "pw"])
    model.target_name_ = "species"
    loaded = fastnn.load(model.save(tmp_path / "m.npz"))
    assert loaded.get_params() == model.get_params()
    assert loaded.hidden == (8, 4) and loaded.activation == "tanh"
    assert loaded.net_.sizes == model.net_.sizes == [4, 8, 4, 3]
    assert loaded.feature_names_in_ == ["sl", "sw", "pl", "pw"]
    assert loaded.target_name_ == "species"
    assert loaded.n_features_in_ == 4
    assert loaded.seed_ == model.seed_ and loaded.init_ == model.init_
    np.testing.assert_array_equal(loaded.scaler_.mean_, model.scaler_.mean_)
    np.testing.assert_array_equal(loaded.scaler_.std_, model.scaler_.std_)
    assert loaded.history_["loss"] == model.history_["loss"]
    assert len(loaded.history_["grad_norm_W"]) == 3


def test_round_trip_without_standardize(tmp_path):
    """A model trained without standardisation loads with no scaler and same predictions."""
    X, y = _regression()
    model = fastnn.MLP(hidden=(4,), standardize=False, seed=0).fit(X, y, epochs=3)
    loaded = fastnn.load(model.save(tmp_path / "m.npz"))
    assert loaded.scaler_ is None
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_save_appends_npz_extension(tmp_path):
    """save('m') writes m.npz and returns that path."""
    model, X, _ = _fit("binary", "float32")
    path = model.save(str(tmp_path / "m"))
    assert path == str(tmp_path / "m.npz")
    assert (tmp_path / "m.npz").exists()
    assert not list(tmp_path.glob("*.tmp*"))      # the temporary file is gone
    assert np.array_equal(fastnn.load(path).predict(X), model.predict(X))


def test_file_loads_without_pickle(tmp_path):
    """Every array in the file is readable with np.load(allow_pickle=False)."""
    model, _, _ = _fit("multiclass", "float64")
    path = model.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        names = set(f.files)
        arrays = {k: f[k] for k in f.files}
    assert {"params", "meta", "classes", "x_mean", "x_std"} <= names
    assert all(a.dtype.kind != "O" for a in arrays.values())
    assert arrays["classes"].tolist() == ["setosa", "versicolor", "virginica"]
    meta = json.loads(str(arrays["meta"]))
    assert meta["format"] == "fastnn-model"


def test_version_is_stored(tmp_path):
    """The file records fastnn's version and the format version; load exposes it."""
    model, _, _ = _fit("binary", "float32")
    path = model.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
    assert meta["fastnn_version"] == fastnn.__version__
    assert meta["format_version"] == FORMAT_VERSION
    assert fastnn.load(path).fastnn_version_ == fastnn.__version__


def test_newer_format_version_is_refused(tmp_path):
    """A file from a newer format says to upgrade fastnn instead of misreading it."""
    model, _, _ = _fit("binary", "float32")
    path = model.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["meta"]))
    meta["format_version"] = FORMAT_VERSION + 1
    meta["fastnn_version"] = "99.0"
    arrays["meta"] = np.array(json.dumps(meta))
    newer = str(tmp_path / "newer.npz")
    np.savez(newer, **arrays)
    with pytest.raises(DataError) as info:
        fastnn.load(newer)
    assert "upgrade" in str(info.value) and "99.0" in str(info.value)


def test_non_model_files_give_clear_errors(tmp_path):
    """Data .npz, text, JSON without the marker, truncated params, missing file: DataError."""
    data = str(tmp_path / "data.npz")
    np.savez(data, X=np.zeros((2, 2)), y=np.zeros(2))
    text = tmp_path / "text.npz"
    text.write_text("hello")
    wrong_meta = str(tmp_path / "wrong.npz")
    np.savez(wrong_meta, params=np.zeros(3), meta=np.array(json.dumps({"format": "other"})))
    for path in (data, str(text), wrong_meta):
        with pytest.raises(DataError) as info:
            fastnn.load(path)
        msg = str(info.value)
        assert path in msg and "not a fastnn model file" in msg, msg
    with pytest.raises(DataError, match="no such file .*fastnn model file"):
        fastnn.load(tmp_path / "missing.npz")

    model, _, _ = _fit("binary", "float32")
    path = model.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["params"] = arrays["params"][:-1]
    short = str(tmp_path / "short.npz")
    np.savez(short, **arrays)
    with pytest.raises(DataError, match="parameter buffer"):
        fastnn.load(short)


def test_unfitted_model_cannot_be_saved(tmp_path):
    """Saving before fit raises NotFittedError and writes nothing."""
    with pytest.raises(fastnn.NotFittedError):
        fastnn.MLP().save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())
