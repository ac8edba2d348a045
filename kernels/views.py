"""A 2-D view of a flat buffer, built without ``reshape``.

``buf[off:off + rows*cols].reshape((rows, cols))`` inside ``@njit`` calls
Numba's out-of-line reshape helper: about 28 ns per view on this project's
machine (``python -m bench.parts`` history in bench/RESULTS.md), and a training
step of a tiny network takes some 40 views, so on a 4-sample XOR net the
reshapes cost more than the arithmetic.  :func:`view2` writes the array
header directly: data pointer ``buf.data + off``, shape (rows, cols), C strides,
sharing (and holding a reference to) ``buf``'s memory.

No bounds check: the caller guarantees ``off + rows*cols <= buf.size`` (the
layout built by ``fastnn.network.Network`` does, and the kernel tests compare
every path against the NumPy reference).
"""
from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


@intrinsic
def view2(typingctx, buf, off, rows, cols):
    """view2(buf, off, rows, cols) -> C-contiguous (rows, cols) view of 1-D buf from off."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1):
        return None
    rettype = types.Array(buf.dtype, 2, "C")
    sig = rettype(buf, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        bufv, offv, rv, cv = args
        src = make_array(signature.args[0])(context, builder, bufv)
        dst = make_array(rettype)(context, builder)
        itemsize = context.get_constant(
            types.intp, context.get_abi_sizeof(context.get_data_type(buf.dtype)))
        populate_array(dst,
                       data=builder.gep(src.data, [offv]),
                       shape=cgutils.pack_array(builder, [rv, cv]),
                       strides=cgutils.pack_array(builder, [builder.mul(cv, itemsize), itemsize]),
                       itemsize=itemsize,
                       meminfo=src.meminfo)
        return impl_ret_borrowed(context, builder, rettype, dst._getvalue())

    return sig, codegen
