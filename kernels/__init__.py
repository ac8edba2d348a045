"""Compiled (Numba ``@njit``) kernels of fastnn.

Nothing here imports :mod:`fastnn`; every function takes preallocated buffers
(outputs first, then inputs, then scalars) and allocates nothing in its hot
loop.  Size names used everywhere: ``B`` batch rows, ``n_in`` inputs of a
layer, ``n_out`` outputs of a layer, ``L`` number of layers.
"""
import hashlib
import pathlib


def _cache_folder(here):
    """The folder Numba caches this package's kernels in: its ``__pycache__``,
    or NUMBA_CACHE_DIR's or the user-wide one (Numba's own locator, asked
    about a function of this folder).  Falls back to ``__pycache__``."""
    fallback = here / "__pycache__"
    try:
        from numba.core import caching
        impl = getattr(caching, "CompileResultCacheImpl", None) or caching._CacheImpl

        def probe():                       # stands for any kernel: same folder, same locator
            pass
        probe.__code__ = probe.__code__.replace(co_filename=str(here / "__init__.py"))
        return pathlib.Path(impl(probe).locator.get_cache_path())
    except Exception:                      # another Numba's internals: the in-tree folder
        return fallback


def _drop_stale_cache(here=None):
    """Delete Numba's cache files of these kernels when any kernel source changed.

    Numba checks a cached function only against its own file, but a cached
    ``train_epochs`` contains code inlined from ``dense.py``, ``optim.py``
    and the rest: after editing one of those (an editable install, a
    checkout of another commit) the stale cache was loaded and crashed.  A
    hash of all kernel sources is kept beside the cache (wherever Numba puts
    it, NUMBA_CACHE_DIR included); a mismatch clears it.  A cache folder we
    cannot write is left alone.
    """
    here = pathlib.Path(here or pathlib.Path(__file__).parent)
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    cache = _cache_folder(here)
    stamp = cache / "fastnn-kernel-sources.sha256"
    try:
        if stamp.read_text() == digest.hexdigest():
            return
    except OSError:
        pass
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for path in cache.glob("*.nb[ic]"):
            path.unlink(missing_ok=True)
        stamp.write_text(digest.hexdigest())
    except OSError:
        pass


_drop_stale_cache()
