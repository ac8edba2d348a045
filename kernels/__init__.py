"""Compiled (Numba ``@njit``) kernels of fastnn.

Nothing here imports :mod:`fastnn`; every function takes preallocated buffers
(outputs first, then inputs, then scalars) and allocates nothing in its hot
loop.  Size names used everywhere: ``B`` batch rows, ``n_in`` inputs of a
layer, ``n_out`` outputs of a layer, ``L`` number of layers.
"""
import hashlib
import pathlib


def _drop_stale_cache(here=None):
    """Delete Numba's cache files of these kernels when any kernel source changed.

    Numba checks a cached function only against its own file's time stamp, but
    a cached ``train_epochs`` contains code inlined from ``dense.py``,
    ``optim.py`` and the rest: after editing one of those (an editable
    install, a checkout of another commit) the stale cache was loaded and
    crashed.  A hash of all kernel sources is kept beside the cache; a
    mismatch clears it.  A cache folder we cannot write is left to Numba.
    """
    here = pathlib.Path(here or pathlib.Path(__file__).parent)
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    cache = here / "__pycache__"
    stamp = cache / "fastnn-kernel-sources.sha256"
    try:
        if stamp.read_text() == digest.hexdigest():
            return
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for path in cache.glob("*.nb[ic]"):
            path.unlink(missing_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        pass


_drop_stale_cache()
