"""The user-facing model: :class:`MLP`, a scikit-learn-style estimator."""
import os
import time
import warnings

import numpy as np

from kernels.activations import SIGMOID, SOFTMAX, activation_forward
from kernels.losses import LOSSES
from kernels import train as K

from . import metrics
from .exceptions import DataError, DivergenceError, NotFittedError, ParameterError
from .network import Network, Trainer
from .params import validate
from .preprocessing import (Standardizer, classes_of, encode_classes, infer_task, one_hot,
                            split_indices)

TASK_LOSS = {"binary": "bce", "multiclass": "softmax_ce", "regression": "mse"}
RELU_FAMILY = ("relu", "leaky_relu", "gelu")
#: A batch whose mean loss exceeds this many times max(best epoch loss, 1)
#: counts as diverged (as does a NaN/inf loss).
DIVERGENCE_FACTOR = 100.0
MAX_RECOVERIES = 3
#: history_ entries with one value per epoch
PER_EPOCH = ("epoch", "loss", "val_loss", "val_metric", "lr", "clipped", "grad_norm_W",
             "grad_norm_b", "dead_fraction", "saturated_fraction", "time")


class FastnnWarning(UserWarning):
    """A soft problem: training goes on, but the user should know."""


def _as_2d_float(X, what="X"):
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be numeric") from None
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise DataError(f"{what} must be 2-D (rows, features), got shape {X.shape}")
    if X.shape[0] == 0:
        raise DataError(f"{what} has no rows")
    if X.shape[1] == 0:
        raise DataError(f"{what} has no feature columns")
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{what}[{r}, {c}] is {X[r, c]} (expected a finite number)")
    return X


def _regression_values(y):
    """A regression target as finite float64 values (N, n_targets), or DataError."""
    try:
        Y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("regression target y must be numeric") from None
    Y = Y.reshape(len(Y), -1)
    if not np.all(np.isfinite(Y)):
        raise DataError("regression target y has missing or non-finite values")
    return Y


class MLP:
    """A multi-layer perceptron for classification or regression.

    Parameters
    ----------
    hidden : sequence of int
        Widths of the hidden layers, e.g. ``(64, 64)``; ``()`` is a linear model.
    activation : str
        Hidden activation: relu (default), leaky_relu, gelu, tanh, sigmoid, identity.
    task : str
        'auto' (infer from the target), 'binary', 'multiclass' or 'regression'.
        It fixes the output: sigmoid + binary cross-entropy, softmax +
        cross-entropy, identity + mean squared error.
    init : str
        'auto' (he for the ReLU family, xavier otherwise), 'he', 'xavier', 'glorot'.
    alpha : float
        Negative slope of leaky_relu.
    standardize : bool
        Scale inputs with the training split's mean and std (and regression
        targets too); the statistics are stored and reused by predict.
    dtype : 'float32' or 'float64'
    seed : int or None
        Seeds initialisation, the validation split and shuffling.
    loss : str or None
        Override the loss the task implies ('bce', 'softmax_ce', 'mse').
    """

    def __init__(self, hidden=(64, 64), activation="relu", task="auto", init="auto",
                 alpha=0.01, standardize=True, dtype="float32", seed=0, loss=None):
        self.hidden = hidden
        self.activation = activation
        self.task = task
        self.init = init
        self.alpha = alpha
        self.standardize = standardize
        self.dtype = dtype
        self.seed = seed
        self.loss = loss

    def get_params(self):
        return dict(hidden=self.hidden, activation=self.activation, task=self.task,
                    init=self.init, alpha=self.alpha, standardize=self.standardize,
                    dtype=self.dtype, seed=self.seed, loss=self.loss)

    # -- setting up --------------------------------------------------------
    def _encode_target(self, y):
        """Set task_, classes_, loss_, y scaling; return Y (N, n_out) float64."""
        y = np.asarray(y)
        if y.ndim > 2 or (y.ndim == 2 and self.task_ != "regression" and y.shape[1] != 1):
            raise DataError(f"y must be 1-D (one label per row), got shape {y.shape}")
        if self.task_ == "regression":
            self.classes_ = None
            return _regression_values(y)
        self.classes_ = classes_of(y)
        if len(self.classes_) < 2:
            raise DataError("target has a single class: nothing to learn")
        if self.task_ == "binary" and len(self.classes_) != 2:
            raise DataError(f"task 'binary' needs 2 classes, the target has "
                            f"{len(self.classes_)}")
        return encode_classes(y, self.classes_)

    def _targets(self, codes_or_values):
        """Encoded targets in the loss's form (0/1, one-hot, scaled values)."""
        if self.task_ == "regression":
            return (codes_or_values - self.y_mean_) / self.y_std_
        if self.task_ == "binary":
            return codes_or_values.astype(np.float64).reshape(-1, 1)
        return one_hot(codes_or_values, len(self.classes_))

    def _build(self, n_features, n_out):
        p = self._arch
        self.net_ = Network([n_features, *p["hidden"], n_out], p["activation"],
                            dtype=np.dtype(p["dtype"]), alpha=p["alpha"])
        init = p["init"]
        if init == "auto":
            init = "he" if p["activation"] in RELU_FAMILY else "xavier"
        self.init_ = init
        self.net_.initialize(np.random.default_rng(self.seed_), init)

    # -- fit -----------------------------------------------------------------
    def fit(self, X, y, *, epochs=100, batch_size=32, lr=None, optimizer="adam",
            momentum=0.9, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8,
            validation_split=0.0, validation_data=None, patience=None, clip_norm=None,
            l2=0.01, recover=True, diagnostics=True, engine="auto", feature_names=None,
            callback=None):
        """Train on X (N, n_features) and y (N,); returns self.

        lr defaults to 0.001 for adam and 0.01 for sgd.  momentum applies to
        sgd only.  validation_split holds out a (stratified) fraction of the
        rows, or validation_data=(X_val, y_val) gives them.  patience stops
        after that many epochs without a better validation loss and restores
        the best weights.  l2 adds l2 * W to the weight gradients (weight
        decay; biases are not penalised).  clip_norm clips the global gradient norm.  With
        recover, a diverging loss rolls back to the last good weights and
        divides lr by 10 (at most 3 times).  engine: how training uses the
        cores (see fastnn.network.MODES: "serial", "blas", "split"; "auto"
        follows the shape rule and, where more than one mode can win on big
        data, times each on a sample first); the choice is in ``engine_``.
        callback(record) is called after every epoch with that epoch's
        history entry.
        """
        self._arch = validate(self.get_params())
        fitp = validate(dict(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                             momentum=momentum, nesterov=nesterov, beta1=beta1, beta2=beta2,
                             eps=eps, validation_split=validation_split, patience=patience,
                             clip_norm=clip_norm, l2=l2, recover=recover, diagnostics=diagnostics,
                             engine=engine))
        if fitp["lr"] is None:
            fitp["lr"] = 0.001 if fitp["optimizer"] == "adam" else 0.01
        if fitp["optimizer"] != "sgd":
            fitp["momentum"] = 0.0
        X = _as_2d_float(X)
        y = np.asarray(y)
        if y.ndim == 0 or y.dtype == object and any(v is None for v in y.ravel()):
            raise DataError("y must be an array with one target value per row of X")
        if len(y) != len(X):
            raise DataError(f"X has {len(X)} rows but y has {len(y)}")
        if callback is not None and not callable(callback):
            raise ParameterError(f"parameter 'callback' must be callable, got {callback!r}")
        self.seed_ = (self._arch["seed"] if self._arch["seed"] is not None
                      else int(np.random.SeedSequence().entropy % (2**63)))
        rng = np.random.default_rng(self.seed_)
        self.task_ = self._arch["task"] if self._arch["task"] != "auto" else infer_task(y)
        self.loss_ = self._arch["loss"] or TASK_LOSS[self.task_]
        if self.loss_ != TASK_LOSS[self.task_]:
            raise ParameterError(f"loss {self.loss_!r} does not fit the {self.task_} task "
                                 f"(its output layer needs {TASK_LOSS[self.task_]!r}); set "
                                 "task= to change the task")
        codes = self._encode_target(y)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = (list(feature_names) if feature_names is not None
                                  else [f"x{i}" for i in range(X.shape[1])])
        if len(self.feature_names_in_) != X.shape[1]:
            raise DataError(f"{len(self.feature_names_in_)} feature names for "
                            f"{X.shape[1]} columns")

        if validation_data is not None:
            if fitp["validation_split"] > 0:
                raise ParameterError("give validation_split or validation_data, not both")
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ParameterError("parameter 'validation_data' must be a pair (X_val, y_val)")
            Xv = _as_2d_float(validation_data[0], "validation X")
            if Xv.shape[1] != X.shape[1]:
                raise DataError(f"validation X has {Xv.shape[1]} columns, X has {X.shape[1]}")
            codes_v = self._encode_target_like(validation_data[1])
            if len(codes_v) != len(Xv):
                raise DataError(f"validation X has {len(Xv)} rows but validation y has "
                                f"{len(codes_v)}")
            Xt, codes_t = X, codes
        else:
            labels = codes if self.task_ != "regression" else None
            tr, va = split_indices(len(X), fitp["validation_split"], rng, labels)
            if fitp["validation_split"] > 0 and len(tr) == 0:
                raise DataError("validation_split leaves no training rows")
            Xt, codes_t = X[tr], codes[tr]
            Xv, codes_v = (X[va], codes[va]) if len(va) else (None, None)
        if fitp["patience"] is not None and Xv is None:
            raise ParameterError("parameter 'patience' needs validation data: set "
                                 "validation_split > 0 or pass validation_data")

        # scaling statistics from the training split only
        if self._arch["standardize"]:
            self.scaler_ = Standardizer().fit(Xt, self.feature_names_in_)
        else:
            self.scaler_ = None
        if self.task_ == "regression" and self._arch["standardize"]:
            with np.errstate(over="ignore", invalid="ignore"):
                self.y_mean_ = codes_t.mean(axis=0)
                sd = codes_t.std(axis=0)
            if not (np.all(np.isfinite(sd)) and np.all(np.isfinite(self.y_mean_))):
                raise DataError("target y has values too large to standardise (largest "
                                f"|y| {np.abs(codes_t).max():.3g}); rescale the target")
            self.y_std_ = np.where(sd > 0, sd, 1.0)
        elif self.task_ == "regression":
            self.y_mean_, self.y_std_ = np.zeros(codes_t.shape[1]), np.ones(codes_t.shape[1])
        n_out = (codes_t.shape[1] if self.task_ == "regression"
                 else 1 if self.task_ == "binary" else len(self.classes_))
        self._check_memory([X.shape[1], *self._arch["hidden"], n_out], fitp["batch_size"],
                           len(Xt))
        self._build(X.shape[1], n_out)

        Xt_s = self._scale(Xt)
        Yt = self._targets(codes_t)
        Xv_s = self._scale(Xv) if Xv is not None else None
        Yv = self._targets(codes_v) if Xv is not None else None
        if fitp["batch_size"] > len(Xt):
            warnings.warn(f"batch_size {fitp['batch_size']} is larger than the "
                          f"{len(Xt)} training rows; using {len(Xt)}", FastnnWarning,
                          stacklevel=2)
        from . import health
        self.setup_warnings_ = health.setup_warnings(
            self, Xt, Xt_s, early_stopping=Xv is not None and fitp["patience"] is not None)
        for msg in self.setup_warnings_:
            warnings.warn(msg, FastnnWarning, stacklevel=2)

        self._train(Xt_s, Yt, Xv_s, Yv, codes_v, fitp, callback)
        self.warnings_ = health.training_warnings(self.history_, self._arch["activation"])
        for msg in self.warnings_:
            warnings.warn(msg, FastnnWarning, stacklevel=2)
        return self

    def _check_memory(self, sizes, batch, n_rows):
        """Refuse, before allocating, a network that cannot fit in memory."""
        item = np.dtype(self._arch["dtype"]).itemsize
        n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        # params, grads, two optimizer buffers, rollback copy (3), best weights
        need = item * (8 * n_params + 2 * min(batch, n_rows) * sum(sizes) + 2 * n_rows * sizes[0])
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return
        if need > 0.9 * avail:
            raise ParameterError(f"a {'-'.join(map(str, sizes))} network has {n_params:,} "
                                 f"parameters and needs about {need / 2**30:.1f} GiB to train; "
                                 f"only {avail / 2**30:.1f} GiB of memory is free: use "
                                 "smaller or fewer hidden layers")

    def _encode_target_like(self, y):
        """Encode y with the classes (or shape) learnt from the training target."""
        if self.task_ == "regression":
            return _regression_values(y)
        return encode_classes(np.asarray(y), self.classes_)

    def _scale(self, X):
        dt = np.dtype(self._arch["dtype"] if hasattr(self, "_arch") else self.dtype)
        with np.errstate(over="ignore"):
            out = (np.ascontiguousarray(X, dtype=dt) if self.scaler_ is None
                   else self.scaler_.transform(X, dt))
        if not np.all(np.isfinite(out)):
            r, c = np.argwhere(~np.isfinite(out))[0]
            advice = "; use dtype float64" if dt == np.float32 else ""
            raise DataError(f"X[{r}, {c}] = {X[r, c]:g} overflows {dt} after scaling "
                            f"(largest {np.finfo(dt).max:.2g}){advice}")
        return out

    def _train(self, Xt, Yt, Xv, Yv, codes_v, fitp, callback):
        net = self.net_
        loss_code = LOSSES[self.loss_]
        trainer = Trainer(net, Xt, Yt, loss=self.loss_, optimizer=fitp["optimizer"],
                          lr=fitp["lr"], batch_size=fitp["batch_size"], beta1=fitp["beta1"],
                          beta2=fitp["beta2"], eps=fitp["eps"], momentum=fitp["momentum"],
                          nesterov=fitp["nesterov"], clip_norm=fitp["clip_norm"],
                          diagnostics=fitp["diagnostics"], seed=self.seed_, l2=fitp["l2"],
                          mode=fitp["engine"], epochs=fitp["epochs"])
        # how the engine runs (see fastnn.network.MODES) and, if it was calibrated,
        # the epochs/s each candidate reached
        self.engine_ = dict(mode=trainer.mode, calibration=getattr(trainer, "calibration", None))
        self.history_ = hist = {k: [] for k in PER_EPOCH}
        hist["recoveries"] = []
        hist["metric_name"] = "r2" if self.task_ == "regression" else "accuracy"
        hist["stopped_early"] = False
        hist["init"] = (self._probe_init(Xt, Yt, fitp["batch_size"]) if fitp["diagnostics"]
                        else None)
        init_loss = metrics.mean_loss(net.predict_logits(Xt), Yt, loss_code)
        best_train = init_loss if np.isfinite(init_loss) else 1.0
        best_val, best_params, since_best = np.inf, None, 0
        good = trainer.state()
        # tiny problems: several epochs per compiled call (no validation between them)
        cost = 6.0 * net.n_params * len(Xt)
        chunk_max = 1 if Xv is not None else int(max(1, min(1000, 2e7 // max(cost, 1))))
        trainer.run(0)           # compile (first run) or load the kernel before the clock starts
        epoch, t0 = 0, time.perf_counter()
        while epoch < fitp["epochs"]:
            n = min(chunk_max, fitp["epochs"] - epoch)
            trainer.loss_limit = DIVERGENCE_FACTOR * max(best_train, 1.0)
            done, eo, lo, alive = trainer.run(n)
            for e in range(done):
                self._record(hist, epoch + e + 1, eo[e], lo[e], alive[e], trainer, t0)
                best_train = min(best_train, hist["loss"][-1])
            if done < n:                      # diverged in epoch `epoch + done + 1`
                bad_epoch = epoch + done + 1
                bad_loss = eo[done, K.E_BAD_LOSS]
                if not fitp["recover"] or len(hist["recoveries"]) >= MAX_RECOVERIES:
                    trainer.restore(good)
                    raise DivergenceError(self._divergence_message(
                        bad_epoch, bad_loss, trainer.lr, fitp["recover"]))
                trainer.restore(good)
                if done:      # epochs of this chunk that completed are rolled back too
                    for key in PER_EPOCH:
                        del hist[key][-done:]
                new_lr = float(trainer.lr) / 10.0
                hist["recoveries"].append(dict(epoch=bad_epoch, loss=float(bad_loss),
                                               old_lr=float(trainer.lr), new_lr=new_lr))
                trainer.lr = new_lr
                if callback is not None:
                    callback(dict(event="recovered", epoch=bad_epoch, loss=float(bad_loss),
                                  new_lr=new_lr))
                continue
            epoch += done
            good = trainer.state()
            if Xv is not None:
                logits_v = net.predict_logits(Xv)
                vloss = metrics.mean_loss(logits_v, Yv, loss_code)
                hist["val_loss"][-1] = float(vloss)
                hist["val_metric"][-1] = self._metric_from_logits(logits_v, codes_v)
                if np.isfinite(vloss) and vloss < best_val - 1e-12:
                    best_val, since_best = vloss, 0
                    best_params = net.params.copy()
                else:
                    since_best += 1
            if callback is not None:
                for e in range(done):
                    rec = {k: hist[k][e - done] for k in PER_EPOCH}
                    rec["metric_name"] = hist["metric_name"]
                    callback(rec)
            if fitp["patience"] is not None and since_best >= fitp["patience"]:
                hist["stopped_early"] = True
                break
        if best_params is not None and fitp["patience"] is not None:
            net.params[:] = best_params
        hist["best_val_loss"] = float(best_val) if np.isfinite(best_val) else None
        if not np.all(np.isfinite(net.params)):
            raise DivergenceError("training produced non-finite weights; lower the learning "
                                  "rate (divide it by 10) or set clip_norm")
        self.n_epochs_ = len(hist["epoch"])
        self.train_time_ = time.perf_counter() - t0
        self.samples_seen_ = self.n_epochs_ * len(Xt)

    def _divergence_message(self, epoch, loss, lr, recover):
        what = "NaN/inf" if not np.isfinite(loss) else f"{loss:.4g}"
        if recover:
            return (f"training diverged in epoch {epoch} (batch loss {what}) even after "
                    f"{MAX_RECOVERIES} recoveries; learning rate is now {lr:g}: lower it "
                    "further, set clip_norm, or check that inputs are standardised")
        return (f"training diverged in epoch {epoch} (batch loss {what}) at learning rate "
                f"{lr:g}: divide it by 10 and restart, or turn recovery on")

    def _epoch_stats(self, eo, lo, alive, diag):
        """Per-epoch numbers from the kernel's outputs (see kernels.train)."""
        steps = max(eo[K.E_STEPS], 1.0)
        seen = max(eo[K.E_SEEN], 1.0)
        act = self._arch["activation"]
        dead, sat = [], []
        for l in range(self.net_.n_layers - 1):
            w = self.net_.sizes[l + 1]
            u0 = self.net_.layout[l, K.UNIT_OFF]
            relu = diag and act in ("relu", "leaky_relu")
            dead.append(float(1.0 - alive[u0:u0 + w].mean()) if relu else None)
            squash = diag and act in ("sigmoid", "tanh")
            sat.append(float(lo[l, K.L_SAT] / (seen * w)) if squash else None)
        return dict(loss=float(eo[K.E_LOSS_SUM] / seen),
                    clipped=float(eo[K.E_CLIPPED] / steps),
                    grad_norm_W=[float(x) for x in np.sqrt(lo[:, K.L_GW2] / steps)],
                    grad_norm_b=[float(x) for x in np.sqrt(lo[:, K.L_GB2] / steps)],
                    dead_fraction=dead, saturated_fraction=sat)

    def _record(self, hist, epoch, eo, lo, alive, trainer, t0):
        stats = self._epoch_stats(eo, lo, alive, bool(trainer.ip[K.DIAG]))
        stats.update(epoch=epoch, val_loss=None, val_metric=None, lr=float(trainer.lr),
                     time=time.perf_counter() - t0)
        for k in PER_EPOCH:
            hist[k].append(stats[k])

    def _probe_init(self, Xt, Yt, batch_size):
        """Gradient norms and unit statistics at initialisation: one pass over the
        training rows at learning rate 0 (the weights are left unchanged)."""
        keep = self.net_.params.copy()
        probe = Trainer(self.net_, Xt, Yt, loss=self.loss_, optimizer="sgd", lr=0.0,
                        batch_size=batch_size, diagnostics=True, shuffle=False, mode="rule")
        _, eo, lo, alive = probe.run(1)
        self.net_.params[:] = keep
        return self._epoch_stats(eo[0], lo[0], alive[0], True)

    # -- predicting ------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "net_"):
            raise NotFittedError("this MLP is not fitted yet: call fit() or fastnn.load()")

    def _check_X(self, X):
        self._check_fitted()
        X = _as_2d_float(X)
        if X.shape[1] != self.n_features_in_:
            raise DataError(f"X has {X.shape[1]} features, the model was trained on "
                            f"{self.n_features_in_}")
        return X

    def decision_function(self, X):
        """Logits (N, n_out) of the output layer."""
        X = self._check_X(X)
        return self.net_.predict_logits(self._scale(X))

    def _proba_from_logits(self, logits):
        p = np.empty_like(logits)
        activation_forward(p, logits, SIGMOID if self.task_ == "binary" else SOFTMAX, 0.0)
        if self.task_ == "binary":
            return np.hstack([1.0 - p, p])
        return p

    def predict_proba(self, X):
        """Class probabilities (N, n_classes), columns in the order of ``classes_``."""
        if getattr(self, "task_", None) == "regression":
            raise ParameterError("predict_proba is for classification; this model does "
                                 "regression")
        return self._proba_from_logits(self.decision_function(X))

    def _predict_from_logits(self, logits):
        if self.task_ == "regression":
            out = logits.astype(np.float64) * self.y_std_ + self.y_mean_
            return out[:, 0] if out.shape[1] == 1 else out
        if self.task_ == "binary":
            return self.classes_[(logits[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(logits, axis=1)]

    def predict(self, X):
        """Original labels (classification) or values (regression), one per row."""
        return self._predict_from_logits(self.decision_function(X))

    def _metric_from_logits(self, logits, codes):
        pred = self._predict_from_logits(logits)
        if self.task_ == "regression":
            return metrics.r2(codes, pred)
        return metrics.accuracy(self.classes_[codes], pred)

    def evaluate(self, X, y):
        """Scores on (X, y): loss and accuracy, or loss, rmse and r2."""
        logits = self.decision_function(X)
        y = np.asarray(y)
        if len(y) != len(logits):
            raise DataError(f"X has {len(logits)} rows but y has {len(y)}")
        codes = self._encode_target_like(y)
        out = {"loss": metrics.mean_loss(logits, self._targets(codes), LOSSES[self.loss_])}
        pred = self._predict_from_logits(logits)
        if self.task_ == "regression":
            out["rmse"] = metrics.rmse(codes.reshape(pred.shape), pred)
            out["r2"] = metrics.r2(codes.reshape(pred.shape), pred)
        else:
            out["accuracy"] = metrics.accuracy(self.classes_[codes], pred)
        out["n"] = len(y)
        return out

    def score(self, X, y):
        """Accuracy (classification) or R^2 (regression), as scikit-learn."""
        r = self.evaluate(X, y)
        return r["r2"] if self.task_ == "regression" else r["accuracy"]

    # -- persistence -------------------------------------------------------------
    def save(self, path):
        """Write the fitted model to one ``.npz`` file (no pickle)."""
        from .serialize import save_model
        self._check_fitted()
        return save_model(self, path)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"MLP({args})"
