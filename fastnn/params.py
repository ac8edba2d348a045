"""One table of every hyperparameter: type, allowed values, meaning.

:func:`validate` checks a dict of values against it; its errors name the
parameter, what is allowed and the value received.  The CLI builds its
option types from the same table.
"""
import numbers

from kernels.activations import HIDDEN_ACTIVATIONS
from kernels.losses import LOSSES
from kernels.optim import OPTIMIZERS

from .exceptions import ParameterError

TASKS = ("auto", "binary", "multiclass", "regression")
INITS = ("auto", "he", "xavier", "glorot")
DTYPES = ("float32", "float64")
ENGINES = ("auto", "serial", "blas", "split")      # auto + the keys of network.MODES
MAX_LAYERS = 1000


class Spec:
    """kind: 'int', 'float', 'choice', 'bool', 'sizes'; lo/hi bounds; choices."""

    def __init__(self, kind, lo=None, hi=None, choices=None, none_ok=False, help="",
                 lo_open=False):
        self.kind, self.lo, self.hi, self.choices = kind, lo, hi, choices
        self.none_ok, self.help, self.lo_open = none_ok, help, lo_open

    def allowed(self):
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "True or False"
        if self.kind == "sizes":
            return f"a list of at most {MAX_LAYERS} positive integers"
        lo = "" if self.lo is None else (f"> {self.lo}" if self.lo_open else f">= {self.lo}")
        hi = "" if self.hi is None else f"<= {self.hi}"
        rng = " and ".join(x for x in (lo, hi) if x)
        what = "an integer" if self.kind == "int" else "a number"
        return f"{what} {rng}".strip() + (" or None" if self.none_ok else "")


PARAMS = {
    # architecture (MLP constructor)
    "hidden": Spec("sizes", help="hidden layer widths, e.g. (64, 64)"),
    "activation": Spec("choice", choices=HIDDEN_ACTIVATIONS, help="hidden activation"),
    "task": Spec("choice", choices=TASKS, help="what the target is; auto infers it"),
    "init": Spec("choice", choices=INITS,
                 help="weight init; auto: he for the ReLU family, xavier for sigmoid/tanh"),
    "alpha": Spec("float", 0.0, 1.0, help="negative slope of leaky_relu"),
    "standardize": Spec("bool", help="scale inputs with train-split mean/std"),
    "dtype": Spec("choice", choices=DTYPES, help="floating-point precision"),
    "seed": Spec("int", 0, 2**63 - 1, none_ok=True, help="random seed (None: fresh)"),
    # training (fit)
    "epochs": Spec("int", 1, 10**7, help="passes over the training data"),
    "batch_size": Spec("int", 1, 10**7, help="rows per mini-batch"),
    "lr": Spec("float", 0.0, 10.0, none_ok=True, lo_open=True,
               help="learning rate; None: 0.001 for adam, 0.01 for sgd"),
    "optimizer": Spec("choice", choices=tuple(OPTIMIZERS), help="update rule"),
    "momentum": Spec("float", 0.0, 0.9999, help="SGD momentum"),
    "nesterov": Spec("bool", help="Nesterov momentum (SGD)"),
    "beta1": Spec("float", 0.0, 0.9999, help="Adam first-moment decay"),
    "beta2": Spec("float", 0.0, 0.999999, help="Adam second-moment decay"),
    "eps": Spec("float", 0.0, 1.0, lo_open=True, help="Adam epsilon"),
    "validation_split": Spec("float", 0.0, 0.9, help="fraction held out for validation"),
    "patience": Spec("int", 1, 10**6, none_ok=True,
                     help="early stopping: epochs without validation improvement"),
    "l2": Spec("float", 0.0, 10.0, help="L2 penalty on the weights (gradient += l2 * W)"),
    "clip_norm": Spec("float", 0.0, None, none_ok=True, lo_open=True,
                      help="clip gradients to this global L2 norm"),
    "loss": Spec("choice", choices=tuple(LOSSES), none_ok=True,
                 help="override the loss the task implies"),
    "recover": Spec("bool", help="roll back and lower lr when the loss diverges"),
    "diagnostics": Spec("bool", help="per-epoch dead/saturated unit statistics"),
    "engine": Spec("choice", choices=ENGINES,
                   help="how training uses the cores: auto (the shape rule, and a short "
                        "timing where more than one mode can win), serial, blas or split"),
}


def check(name, value):
    """Return value converted to its canonical type, or raise ParameterError."""
    spec = PARAMS[name]

    def bad():
        return ParameterError(f"parameter {name!r} must be {spec.allowed()}, got {value!r}")

    if value is None:
        if spec.none_ok:
            return None
        raise bad()
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            raise bad()
        return value
    if spec.kind == "bool":
        if not isinstance(value, (bool,)) and value not in (0, 1):
            raise bad()
        return bool(value)
    if spec.kind == "sizes":
        if isinstance(value, numbers.Integral):
            value = (value,)
        try:
            sizes = tuple(value)
        except TypeError:
            raise bad() from None
        if len(sizes) > MAX_LAYERS or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0
                for s in sizes):
            raise bad()
        return tuple(int(s) for s in sizes)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise bad()
    if spec.kind == "int":
        if not isinstance(value, numbers.Integral):
            raise bad()
        value = int(value)
    else:
        value = float(value)
        if value != value:
            raise bad()
    if spec.lo is not None and (value <= spec.lo if spec.lo_open else value < spec.lo):
        raise bad()
    if spec.hi is not None and value > spec.hi:
        raise bad()
    return value


def validate(values):
    """Check every entry of a dict; return a new dict of canonical values."""
    return {k: check(k, v) for k, v in values.items()}
