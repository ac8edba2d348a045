"""Views of a flat buffer, built without ``reshape`` and without reference counts.

``buf[off:off + rows*cols].reshape((rows, cols))`` inside ``@njit`` calls
Numba's out-of-line reshape helper: about 28 ns per view on this project's
machine (``python -m bench.parts`` history in bench/RESULTS.md), and a training
step of a tiny network takes some 40 views, so on a 4-sample XOR net the
reshapes cost more than the arithmetic.  :func:`view2` writes the array
header directly: data pointer ``buf.data + off``, shape (rows, cols), C strides.

The view holds no reference to ``buf``'s memory (no meminfo): Numba's
reference counts are atomic increments and decrements, and with one pair per
view they took a fifth of a W1 training step (``perf record``).  So a view is
valid only while ``buf`` is alive: inside the kernel call that received
``buf``, which is how every kernel uses it; never return one to Python.

No bounds check: the caller guarantees ``off + rows*cols <= buf.size`` (the
layout built by ``fastnn.network.Network`` does, and the kernel tests compare
every path against the NumPy reference).
"""
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


def _view(context, builder, buf_type, rettype, bufv, offv, shape):
    """Codegen of a C-contiguous view of ``shape`` (list of intp values) into
    the 1-D array bufv from element offv, with no meminfo."""
    src = make_array(buf_type)(context, builder, bufv)
    dst = make_array(rettype)(context, builder)
    itemsize = context.get_constant(
        types.intp, context.get_abi_sizeof(context.get_data_type(buf_type.dtype)))
    strides = [itemsize]
    for extent in reversed(shape[1:]):
        strides.insert(0, builder.mul(extent, strides[0]))
    populate_array(dst,
                   data=builder.gep(src.data, [offv]),
                   shape=cgutils.pack_array(builder, shape),
                   strides=cgutils.pack_array(builder, strides),
                   itemsize=itemsize,
                   meminfo=None)
    return dst._getvalue()


@intrinsic
def view2(typingctx, buf, off, rows, cols):
    """view2(buf, off, rows, cols) -> C-contiguous (rows, cols) view of 1-D buf from off."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1):
        return None
    rettype = types.Array(buf.dtype, 2, "C")
    sig = rettype(buf, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        bufv, offv, rv, cv = args
        return _view(context, builder, signature.args[0], rettype, bufv, offv, [rv, cv])

    return sig, codegen


@intrinsic
def view1(typingctx, buf, off, n):
    """view1(buf, off, n) -> buf[off:off + n] without a reference (see the module notes):
    a plain slice costs an atomic increment and decrement of buf's count."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1):
        return None
    rettype = types.Array(buf.dtype, 1, "C")
    sig = rettype(buf, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        bufv, offv, nv = args
        return _view(context, builder, signature.args[0], rettype, bufv, offv, [nv])

    return sig, codegen
