"""Saving and loading fitted models as one ``.npz`` file, without pickle.

The file holds the flat parameter buffer, the standardiser, the classes and
a JSON document (architecture, task, feature names, history, fastnn
version).  Loading uses ``np.load(allow_pickle=False)``.
"""
import contextlib
import json
import os

import numpy as np

from ._version import __version__
from .exceptions import DataError
from .io import load_npz_arrays
from .network import Network
from .params import validate
from .preprocessing import Standardizer

FORMAT = "fastnn-model"
FORMAT_VERSION = 1


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else str(obj)
    return obj


def save_model(model, path):
    """Write model to path (".npz" appended when missing); return the path."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    meta = dict(format=FORMAT, format_version=FORMAT_VERSION, fastnn_version=__version__,
                params=model.get_params(), sizes=model.net_.sizes, task=model.task_,
                loss=model.loss_, init=model.init_, seed=model.seed_,
                feature_names=model.feature_names_in_,
                target_name=getattr(model, "target_name_", None),
                classes_kind=None if model.classes_ is None else model.classes_.dtype.kind,
                history=getattr(model, "history_", None))
    arrays = dict(params=model.net_.params, meta=np.array(json.dumps(_jsonable(meta))))
    if model.scaler_ is not None:
        arrays.update(x_mean=model.scaler_.mean_, x_std=model.scaler_.std_,
                      x_constant=model.scaler_.constant_)
    if model.classes_ is not None:
        arrays["classes"] = model.classes_
    if model.task_ == "regression":
        arrays.update(y_mean=model.y_mean_, y_std=model.y_std_)
    tmp = path + ".tmp.npz"
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)          # never leave a half-written model behind
    except OSError as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise DataError(f"{path}: cannot save the model here ({e.strerror or e})") from None
    return path


def load_model(path):
    """Read a model written by :func:`save_model`."""
    path = os.fspath(path)
    data = load_npz_arrays(path, "a fastnn model file")
    try:
        return _model_from(data, path)
    except DataError:
        raise
    except Exception as e:    # hand-edited or damaged metadata
        raise DataError(f"{path}: not a valid fastnn model file ({type(e).__name__}: {e})") \
            from None


def _model_from(data, path):
    from .model import MLP
    try:
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != FORMAT:
            raise KeyError("format")
    except (KeyError, ValueError, TypeError, AttributeError):
        raise DataError(f"{path}: not a fastnn model file (no fastnn metadata)") from None
    if meta["format_version"] > FORMAT_VERSION:
        raise DataError(f"{path}: written by fastnn {meta['fastnn_version']} in a newer "
                        f"format ({meta['format_version']}); upgrade fastnn")
    p = meta["params"]
    p["hidden"] = tuple(p["hidden"])
    model = MLP(**p)
    model._arch = dict(p)
    model.net_ = Network(meta["sizes"], p["activation"], dtype=np.dtype(p["dtype"]),
                         alpha=p["alpha"])
    if data["params"].shape != model.net_.params.shape:
        raise DataError(f"{path}: parameter buffer has {data['params'].size} values, the "
                        f"architecture needs {model.net_.n_params}")
    model.net_.params[:] = data["params"]
    model.task_, model.loss_, model.init_ = meta["task"], meta["loss"], meta["init"]
    model.seed_ = meta["seed"]
    model.feature_names_in_ = meta["feature_names"]
    model.target_name_ = meta.get("target_name")
    model.n_features_in_ = meta["sizes"][0]
    model.fastnn_version_ = meta["fastnn_version"]
    if "x_mean" in data:
        sc = Standardizer()
        sc.mean_, sc.std_, sc.constant_ = data["x_mean"], data["x_std"], data["x_constant"]
        model.scaler_ = sc
    else:
        model.scaler_ = None
    model.classes_ = data.get("classes")
    if model.task_ != "regression" and model.classes_ is None:
        raise DataError(f"{path}: a {model.task_} model file without its classes")
    validate(model.get_params())
    if model.task_ == "regression":
        model.y_mean_, model.y_std_ = data["y_mean"], data["y_std"]
    if meta.get("history") is not None:
        model.history_ = meta["history"]
        model.n_epochs_ = len(model.history_["epoch"])
    return model
