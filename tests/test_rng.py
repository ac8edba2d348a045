"""The in-kernel shuffle: a permutation, reproducible from its state, different across states."""
import itertools

import numpy as np

from kernels.rng import shuffle_, splitmix64


def _shuffled(n, seed):
    perm = np.arange(n, dtype=np.int64)
    state = np.array([seed], dtype=np.uint64)
    shuffle_(perm, state)
    return perm, state


def test_shuffle_is_a_permutation():
    """shuffle_ of 0..n-1 contains every index exactly once, for n = 0, 1, 2 and 1000."""
    for n in (0, 1, 2, 1000):
        perm, _ = _shuffled(n, 12345)
        assert np.array_equal(np.sort(perm), np.arange(n))
    assert not np.array_equal(_shuffled(1000, 12345)[0], np.arange(1000))  # it moved things


def test_shuffle_reproducible_from_state():
    """The same state gives the same permutation and the same advanced state."""
    (p1, s1), (p2, s2) = _shuffled(500, 42), _shuffled(500, 42)
    assert np.array_equal(p1, p2)
    assert s1[0] == s2[0] != 42


def test_shuffle_differs_across_states():
    """Different states, and consecutive shuffles from one state, give different permutations."""
    perms = {tuple(_shuffled(200, s)[0]) for s in range(10)}
    assert len(perms) == 10
    perm, state = _shuffled(200, 7)
    first = perm.copy()
    shuffle_(perm, state)
    assert not np.array_equal(perm, first)


def test_splitmix64_known_values():
    """splitmix64 from state 0 gives the published first outputs (Vigna's reference splitmix64.c)."""
    state = np.zeros(1, dtype=np.uint64)
    assert [int(splitmix64(state)) for _ in range(3)] == [
        0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]


def test_shuffle_is_uniform_over_permutations_of_three():
    """Fisher-Yates: each of the 6 orders of 3 items appears ~1/6 of 6000 shuffles (Sattolo's bug gives 2)."""
    state = np.array([2024], dtype=np.uint64)
    counts = dict.fromkeys(itertools.permutations(range(3)), 0)
    perm = np.empty(3, dtype=np.int64)
    for _ in range(6000):
        perm[:] = (0, 1, 2)
        shuffle_(perm, state)
        counts[tuple(perm)] += 1
    # binomial(6000, 1/6): sd ~ 29; 150 is > 5 sd
    assert all(abs(c - 1000) < 150 for c in counts.values()), counts
