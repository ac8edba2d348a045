"""Training health: warnings that name the layer or feature and the remedy.

Thresholds (documented in the README):

* vanishing gradients: a layer's weight-gradient norm below ``VANISH_ABS``
  (1e-8), or the first layer's norm below ``VANISH_RATIO`` (1e-4) times the
  last layer's;
* dead units (relu/leaky_relu): more than ``DEAD_FRACTION`` (50%) of a
  layer's units output zero for every sample of an epoch;
* saturation (sigmoid/tanh): more than ``SATURATED_FRACTION`` (50%) of a
  layer's outputs have a derivative below 1% of its maximum;
* deep sigmoid/tanh: sigmoid in 2 or more hidden layers, tanh in
  ``DEEP_TANH`` (5) or more;
* unscaled inputs (standardisation off): feature standard deviations that
  differ by more than ``SCALE_RATIO`` (100x);
* too many parameters: fewer than ``SAMPLES_PER_PARAM`` (10) training rows per
  parameter (the common rule of thumb) without early stopping; with early
  stopping, more than ``PARAMS_PER_SAMPLE_EARLY_STOPPING`` (100) parameters
  per row.
"""
import numpy as np

VANISH_ABS = 1e-8
VANISH_RATIO = 1e-4
DEAD_FRACTION = 0.5
SATURATED_FRACTION = 0.5
DEEP_TANH = 5
SCALE_RATIO = 100.0
SAMPLES_PER_PARAM = 10
PARAMS_PER_SAMPLE_EARLY_STOPPING = 100


def _names(names, idx, most=5):
    shown = ", ".join(str(names[i]) for i in idx[:most])
    return shown + (f" and {len(idx) - most} more" if len(idx) > most else "")


def architecture_warnings(hidden, activation, n_params=None, n_samples=None,
                          early_stopping=False):
    """Warnings knowable before training: activation choice and size.

    With early stopping on (the usual guard against overfitting, and the CLI's
    default) the size warning waits for more than
    PARAMS_PER_SAMPLE_EARLY_STOPPING (100) parameters per row: the default
    64-64 network has 14 per row on breast_cancer and validates at 0.96."""
    out = []
    depth = len(hidden)
    if depth and activation == "identity":
        out.append(f"identity (linear) activation in {depth} hidden layer(s): the network is "
                   "one linear map, no more expressive than no hidden layer; use relu")
    if (activation == "sigmoid" and depth >= 2) or (activation == "tanh" and depth >= DEEP_TANH):
        out.append(f"{activation} in {depth} hidden layers: its derivative is at most "
                   f"{'0.25' if activation == 'sigmoid' else '1 and small off 0'}, so gradients "
                   "shrink layer by layer (vanishing gradients); use relu with He init")
    if n_params is not None and n_samples is not None:
        if early_stopping and n_samples * PARAMS_PER_SAMPLE_EARLY_STOPPING < n_params:
            out.append(f"{n_params} parameters for {n_samples} training rows (more than "
                       f"{PARAMS_PER_SAMPLE_EARLY_STOPPING} per row): the network can memorise "
                       "the training set before early stopping sees it; use fewer or narrower "
                       "hidden layers, or more data")
        elif not early_stopping and n_samples < SAMPLES_PER_PARAM * n_params:
            out.append(f"{n_params} parameters for {n_samples} training rows (fewer than "
                       f"{SAMPLES_PER_PARAM} rows per parameter): the network may overfit; use "
                       "early stopping (validation data and patience), fewer or narrower "
                       "hidden layers, or more data")
    return out


def scale_warnings(X, feature_names):
    """Features whose standard deviations differ by more than SCALE_RATIO."""
    sd = np.asarray(X, dtype=np.float64).std(axis=0)
    pos = sd[sd > 0]
    if len(pos) < 2 or pos.max() <= SCALE_RATIO * pos.min():
        return []
    lo = np.flatnonzero((sd > 0) & (sd * SCALE_RATIO < pos.max()))
    hi = int(np.argmax(sd))
    return [f"inputs are not standardised and their scales differ by "
            f"{pos.max() / pos.min():.0f}x (std of {feature_names[hi]} is {sd[hi]:.3g}; "
            f"{_names(feature_names, lo)} are over {SCALE_RATIO:.0f}x smaller): turn "
            "standardisation on"]


def setup_warnings(model, X_train_raw, X_train_used, early_stopping=False):
    """All warnings for a model about to be trained on these rows."""
    p = model._arch
    out = architecture_warnings(p["hidden"], p["activation"], model.net_.n_params,
                                len(X_train_raw), early_stopping)
    if not p["standardize"]:
        out += scale_warnings(X_train_raw, model.feature_names_in_)
    return out


def _layer_name(l, n_layers):
    return "output layer" if l == n_layers - 1 else f"hidden layer {l + 1}"


def gradient_warnings(norms_W):
    """Vanishing-gradient warnings for one epoch's per-layer weight-gradient norms."""
    norms = np.asarray(norms_W, dtype=np.float64)
    L = len(norms)
    tiny = [l for l in range(L) if norms[l] < VANISH_ABS]
    out = []
    if tiny:
        names = ", ".join(str(l + 1) for l in tiny[:5]) + (" ..." if len(tiny) > 5 else "")
        out.append(f"vanishing gradients: weight-gradient norm below {VANISH_ABS:g} in "
                   f"{len(tiny)} layer(s) (layers {names}; first layer {norms[0]:.2e}); these "
                   "layers barely learn: use relu hidden layers with He init")
    elif L >= 2 and norms[-1] > 0 and norms[0] < VANISH_RATIO * norms[-1]:
        out.append(f"vanishing gradients: first layer's gradient norm {norms[0]:.2e} is "
                   f"{norms[0] / norms[-1]:.1e} of the last layer's ({norms[-1]:.2e}); use relu "
                   "hidden layers with He init")
    return out


def unit_warnings(dead, saturated, activation):
    """Dead-unit and saturation warnings from one epoch's per-hidden-layer fractions."""
    out = []
    n = len(dead) + 1
    for l, f in enumerate(dead):
        if f is not None and f > DEAD_FRACTION:
            out.append(f"dead units: {f:.0%} of the {activation} units of "
                       f"{_layer_name(l, n)} output zero for every training row; use "
                       "leaky_relu or gelu, or a lower learning rate")
    for l, f in enumerate(saturated):
        if f is not None and f > SATURATED_FRACTION:
            out.append(f"saturation: {f:.0%} of the outputs of {_layer_name(l, n)} "
                       f"({activation}) are saturated (derivative below 1% of its maximum); "
                       "standardise the inputs, use a smaller init, or use relu")
    return out


def training_warnings(history, activation):
    """Warnings from a fit's history: at initialisation (else the first epoch)
    and at the last epoch."""
    if not history["epoch"]:
        return []
    first = history["init"]["grad_norm_W"] if history.get("init") else history["grad_norm_W"][0]
    out = gradient_warnings(first)
    if not out and len(history["epoch"]) > 1:
        out = gradient_warnings(history["grad_norm_W"][-1])
    out += unit_warnings(history["dead_fraction"][-1], history["saturated_fraction"][-1],
                         activation)
    return out
