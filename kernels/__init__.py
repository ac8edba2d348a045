"""Compiled (Numba ``@njit``) kernels of fastnn.

Nothing here imports :mod:`fastnn`; every function takes preallocated buffers
(outputs first, then inputs, then scalars) and allocates nothing in its hot
loop.  Size names used everywhere: ``B`` batch rows, ``n_in`` inputs of a
layer, ``n_out`` outputs of a layer, ``L`` number of layers.
"""
