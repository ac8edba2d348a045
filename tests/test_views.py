"""kernels.views.view2 against NumPy's reshape of the same slice."""
import gc

import numpy as np
import pytest
from numba import njit

from kernels.views import view2


@njit(cache=True)
def _view(buf, off, rows, cols):
    return view2(buf, off, rows, cols)


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


def test_view2_keeps_its_buffer_alive():
    v = _view(np.arange(20, dtype=np.float64), 4, 2, 3)
    gc.collect()
    junk = [np.full(20, -1.0) for _ in range(100)]        # reuse freed memory if any
    np.testing.assert_array_equal(v, np.arange(4, 10, dtype=np.float64).reshape(2, 3))
    del junk
