"""The implementation protocol and the registry ``IMPLS`` (name -> class).

Every implementation follows one small protocol::

    class Impl:
        name: str                      # "numpy", "torch-eager", "torch-fused", "sklearn", ...
        @staticmethod
        def available() -> bool        # False when its optional package is missing
        def __init__(self, wl, X, Y, params, threads): ...   # copies params
        def one_step(self, xb, yb) -> list   # from the initial params, ONE Adam step on exactly
                                             # this batch (no shuffle); [(W, b)] float64 arrays
        def run_steps(self, n) -> int        # about n steady-state steps with per-epoch
                                             # shuffling over X, Y; returns steps actually run

Optional attributes: ``note`` (a short description printed with results, may be set per
instance) and ``adam_eps`` ("sklearn" when the impl uses sklearn's eps placement, so the
harness also checks it against a matching reference).

``fastnn`` is registered from ``bench/impl_fastnn.py`` (class ``FastnnImpl``) when that module
exists and imports; otherwise ``FASTNN_NOTE`` says why it is missing.
"""

from .impl_numpy import NumpyImpl
from .impl_sklearn import SklearnImpl
from .impl_torch import TorchEagerImpl, TorchFusedImpl

from .registry import BASELINES  # noqa: F401  (kept here for importers of bench.impls)

IMPLS = {cls.name: cls for cls in (NumpyImpl, TorchEagerImpl, TorchFusedImpl, SklearnImpl)}

FASTNN_NOTE = None
try:
    from .impl_fastnn import FastnnImpl
except ModuleNotFoundError as exc:
    if exc.name not in ("bench.impl_fastnn", __name__.rpartition(".")[0] + ".impl_fastnn"):
        FASTNN_NOTE = f"fastnn impl not loaded: {type(exc).__name__}: {exc}"
    else:
        FASTNN_NOTE = "fastnn impl not loaded: bench/impl_fastnn.py does not exist yet"
except Exception as exc:  # ImportError, or a numba error while the module compiles
    FASTNN_NOTE = f"fastnn impl not loaded: {type(exc).__name__}: {exc}"
else:
    IMPLS = {getattr(FastnnImpl, "name", "fastnn"): FastnnImpl, **IMPLS}
