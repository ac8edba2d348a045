"""kernels.views.view1/view2 against NumPy's slice and reshape of the same buffer.

The views hold no reference to their buffer, so every test keeps the buffer
alive while it reads a returned view (the kernels only use them inside a call).
"""
import numpy as np
import pytest
from numba import njit

from kernels.views import view1, view2


@njit(cache=True)
def _view(buf, off, rows, cols):
    return view2(buf, off, rows, cols)


@njit(cache=True)
def _view1(buf, off, n):
    return view1(buf, off, n)


@njit(cache=True)
def _sum_views(buf, off, rows, cols):
    """Sums through both views inside one call, the way the kernels use them."""
    s = 0.0
    v = view2(buf, off, rows, cols)
    for i in range(rows):
        for j in range(cols):
            s += v[i, j]
    w = view1(buf, off, rows * cols)
    for i in range(rows * cols):
        s -= 0.5 * w[i]
    return s


@njit(cache=True)
def _write(buf, off, rows, cols, value):
    v = view2(buf, off, rows, cols)
    v[rows - 1, cols - 1] = value


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("off,rows,cols", [(0, 1, 1), (3, 4, 5), (7, 1, 9), (0, 6, 1), (5, 0, 4),
                                           (2, 3, 0)])
def test_view2_equals_reshape_and_shares_memory(dtype, off, rows, cols):
    buf = np.random.default_rng(off).standard_normal(40).astype(dtype)
    v = _view(buf, off, rows, cols)
    want = buf[off:off + rows * cols].reshape(rows, cols)
    assert v.shape == want.shape and v.dtype == buf.dtype
    assert v.flags.c_contiguous
    np.testing.assert_array_equal(v, want)
    if rows * cols:
        assert np.shares_memory(v, buf)
        _write(buf, off, rows, cols, 123.0)
        assert buf[off + rows * cols - 1] == 123.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("off,n", [(0, 1), (3, 20), (39, 1), (5, 0)])
def test_view1_equals_slice_and_shares_memory(dtype, off, n):
    buf = np.random.default_rng(n).standard_normal(40).astype(dtype)
    v = _view1(buf, off, n)
    assert v.shape == (n,) and v.dtype == buf.dtype
    np.testing.assert_array_equal(v, buf[off:off + n])
    if n:
        assert np.shares_memory(v, buf)


def test_views_inside_a_kernel():
    buf = np.arange(30, dtype=np.float64)
    assert _sum_views(buf, 4, 3, 5) == pytest.approx(0.5 * np.arange(4, 19).sum())


def test_stale_kernel_cache_is_dropped_when_any_kernel_source_changes(tmp_path):
    """Numba checks only a function's own file; kernels/__init__ clears the whole cache on any change."""
    import shutil

    import kernels
    src = tmp_path / "kernels"
    shutil.copytree(next(iter(kernels.__path__)), src,
                    ignore=shutil.ignore_patterns("__pycache__"))
    cache = src / "__pycache__"
    cache.mkdir()
    (cache / "train.train_epochs-1.py311.nbi").write_bytes(b"old")
    kernels._drop_stale_cache(src)                       # no stamp yet: cleared, stamp written
    assert not list(cache.glob("*.nbi")) and (cache / "fastnn-kernel-sources.sha256").exists()
    (cache / "train.train_epochs-1.py311.nbi").write_bytes(b"fresh")
    kernels._drop_stale_cache(src)                       # same sources: kept
    assert (cache / "train.train_epochs-1.py311.nbi").read_bytes() == b"fresh"
    (src / "optim.py").write_text((src / "optim.py").read_text() + "\n# edited\n")
    kernels._drop_stale_cache(src)                       # another file edited: cleared
    assert not list(cache.glob("*.nbi"))


def test_stale_cache_drop_follows_numba_cache_dir(tmp_path, monkeypatch):
    """With NUMBA_CACHE_DIR set the kernels' cache lives there, and that is what gets cleared."""
    import shutil

    import numba

    import kernels
    src = tmp_path / "kernels"
    shutil.copytree(next(iter(kernels.__path__)), src,
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "nbcache"))
    folder = kernels._cache_folder(src)
    assert folder.parent == tmp_path / "nbcache"
    folder.mkdir(parents=True, exist_ok=True)            # Numba's locator may have made it
    (folder / "optim.adam_apply-1.py311.nbi").write_bytes(b"old")
    kernels._drop_stale_cache(src)
    assert not list(folder.glob("*.nbi")) and (folder / "fastnn-kernel-sources.sha256").exists()
