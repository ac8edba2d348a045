"""Implementation names and the module each lives in, without importing any of them.

The parent process of ``python -m bench`` only needs names (to parse ``--impls`` and to start
one worker per implementation); importing the impls would load torch, scikit-learn, numba and
their thread pools into it. ``load(name)`` imports just the one implementation a worker needs.
``bench.impls.IMPLS`` (which imports all of them) is what ``--in-process`` and ``--scaling`` use.
"""

import importlib

BASELINES = ("numpy", "torch-eager", "torch-fused", "sklearn")

# name -> (module in this package, class); the order is the report's order (fastnn first).
WHERE = {
    "fastnn": ("impl_fastnn", "FastnnImpl"),
    "numpy": ("impl_numpy", "NumpyImpl"),
    "torch-eager": ("impl_torch", "TorchEagerImpl"),
    "torch-fused": ("impl_torch", "TorchFusedImpl"),
    "sklearn": ("impl_sklearn", "SklearnImpl"),
}
NAMES = tuple(WHERE)


def load(name):
    """The class of implementation ``name``, importing only its own module."""
    module, cls = WHERE[name]
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)
