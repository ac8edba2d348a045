"""Thread count of the BLAS that Numba's ``np.dot`` calls (SciPy's OpenBLAS).

Inside ``@njit`` code ``np.dot`` goes to ``scipy.linalg.cython_blas``, i.e. the
OpenBLAS bundled with SciPy.  Its threads pay only for large products: on small
layers the hand-off costs more than it saves, and on a busy machine a second
thread that is not scheduled can stall every call for milliseconds.  This
module sets that library's thread count through its C API (ctypes, as
threadpoolctl does) for the duration of a training call.  Where the library
is not found (SciPy built against another BLAS) the functions do nothing and
:func:`available` is False.
"""
import contextlib
import ctypes
import os

_LIB = None
_LOOKED = False


def _find():
    global _LIB, _LOOKED
    if _LOOKED:
        return _LIB
    _LOOKED = True
    import scipy.linalg.cython_blas  # noqa: F401  (loads the library)
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        if "64_" in os.path.basename(path):      # NumPy's 64-bit-int copy, not SciPy's
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            set_ = getattr(lib, f"{prefix}_set_num_threads", None)
            get_ = getattr(lib, f"{prefix}_get_num_threads", None)
            if set_ is not None and get_ is not None:
                set_.argtypes, set_.restype = [ctypes.c_int], None
                get_.argtypes, get_.restype = [], ctypes.c_int
                _LIB = (get_, set_)
                return _LIB
    return None


def available():
    return _find() is not None


def get_threads():
    lib = _find()
    return lib[0]() if lib else None


@contextlib.contextmanager
def blas_threads(n):
    """Run the block with n BLAS threads (None: leave as is), then restore."""
    lib = _find()
    if n is None or lib is None:
        yield
        return
    old = lib[0]()
    lib[1](int(n))
    try:
        yield
    finally:
        lib[1](old)
