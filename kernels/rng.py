"""A small counter-based generator for in-kernel shuffling (splitmix64).

The state is a uint64 array of length 1 owned by the caller, so shuffles are
reproducible from a seed and independent of Numba's global random state.
"""
import numpy as np
from numba import njit

from .config import JIT


@njit(**JIT)
def splitmix64(state):
    """Advance state[0] and return the next 64-bit output (Steele et al. 2014)."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(**JIT)
def shuffle_(perm, state):
    """Fisher-Yates shuffle of the int64 array perm, in place."""
    for i in range(perm.shape[0] - 1, 0, -1):
        j = np.int64(splitmix64(state) % np.uint64(i + 1))
        t = perm[i]
        perm[i] = perm[j]
        perm[j] = t
