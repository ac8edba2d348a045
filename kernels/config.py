"""The one place where the compile flags of every kernel are set.

``fastmath`` is a subset, never ``True``: blanket fastmath lets LLVM assume
there are no NaNs or infinities, which would break divergence detection
(a NaN loss must stay NaN).  The subset keeps NaN/inf semantics while allowing
reassociation (vectorised reductions), contraction into FMA and approximate
reciprocals/functions.

``error_model='numpy'`` lets loops that divide vectorise (the default
'python' model inserts a zero-division check that blocks SIMD).
``boundscheck`` stays off (Numba's default).
"""

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

JIT = dict(cache=True, nogil=True, fastmath=set(FASTMATH), error_model="numpy")
