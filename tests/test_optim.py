"""Optimizer kernels recompute the published update formulas over several steps.

SGD (plain, momentum, Nesterov) as torch.optim.SGD with dampening 0; Adam as
Kingma & Ba 2015, Algorithm 1 (bias-corrected).  Clipping by global norm fires
exactly when the norm exceeds max_norm and rescales to it.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from kernels.optim import (add_scaled_, adam_update, clip_by_global_norm, scale_, sgd_update,
                           sum_squares)

try:
    import reference as ref
except ImportError:  # tests/ collected as a package
    from tests import reference as ref

DTYPES = (np.float32, np.float64)
N_STEPS = 6
N = 37


def _grads(rng, dt):
    """A different gradient for each step, of mixed scales (and one exact zero)."""
    g = rng.standard_normal((N_STEPS, N)) * np.logspace(-3, 1, N)
    g[:, 5] = 0.0
    return g.astype(dt)


SGD_CASES = {
    "plain": dict(momentum=0.0, nesterov=False),
    "momentum": dict(momentum=0.9, nesterov=False),
    "nesterov": dict(momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("case", list(SGD_CASES))
def test_sgd_matches_formula_over_steps(case, dt):
    """sgd_update follows vel = mu vel + g; p -= lr (g + mu vel | vel | g) for six steps."""
    rng = np.random.default_rng(1)
    p = rng.standard_normal(N).astype(dt)
    vel = np.zeros(N, dt)
    rp, rv = p.astype(np.float64), vel.astype(np.float64)
    for g in _grads(rng, dt):
        sgd_update(p, vel, g, 0.05, SGD_CASES[case]["momentum"], SGD_CASES[case]["nesterov"])
        rp, rv = ref.sgd_update(rp, rv, g, 0.05, **SGD_CASES[case])
        assert p.dtype == dt and vel.dtype == dt
        assert_allclose(p, rp, **ref.tol(dt))
        assert_allclose(vel, rv, **ref.tol(dt))


def test_nesterov_by_hand():
    """Two Nesterov steps on one parameter equal the arithmetic done by hand."""
    p, vel = np.array([1.0]), np.zeros(1)
    # step 1, g = 1:  vel = 0.9*0 + 1 = 1;     p -= 0.1 * (1 + 0.9*1)   = 0.19  -> 0.81
    sgd_update(p, vel, np.array([1.0]), 0.1, 0.9, True)
    assert_allclose([p[0], vel[0]], [0.81, 1.0], rtol=1e-15)
    # step 2, g = 2:  vel = 0.9*1 + 2 = 2.9;   p -= 0.1 * (2 + 0.9*2.9) = 0.461 -> 0.349
    sgd_update(p, vel, np.array([2.0]), 0.1, 0.9, True)
    assert_allclose([p[0], vel[0]], [0.349, 2.9], rtol=1e-15)
    # heavy-ball momentum from the same start differs: p = 1 - 0.1*1 - 0.1*2.9 = 0.61
    q, w = np.array([1.0]), np.zeros(1)
    sgd_update(q, w, np.array([1.0]), 0.1, 0.9, False)
    sgd_update(q, w, np.array([2.0]), 0.1, 0.9, False)
    assert_allclose(q, [0.61], rtol=1e-15)


@pytest.mark.parametrize("dt", DTYPES)
def test_adam_matches_formula_over_steps(dt):
    """adam_update equals bias-corrected Adam (m, v, mhat, vhat) at steps t = 1..6."""
    rng = np.random.default_rng(2)
    p = rng.standard_normal(N).astype(dt)
    m, v = np.zeros(N, dt), np.zeros(N, dt)
    rp, rm, rv = p.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    hp = dict(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6)
    for t, g in enumerate(_grads(rng, dt), start=1):
        adam_update(p, m, v, g, hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], t)
        rp, rm, rv = ref.adam_update(rp, rm, rv, g, t=t, **hp)
        assert_allclose(p, rp, **ref.tol(dt))
        assert_allclose(m, rm, **ref.tol(dt))
        assert_allclose(v, rv, **ref.tol(dt))


def test_adam_first_step_is_lr_times_sign():
    """Bias correction makes Adam's first step lr * sign(g) wherever |g| >> eps (and 0 where g = 0)."""
    rng = np.random.default_rng(3)
    g = rng.standard_normal(N) * np.logspace(-3, 2, N)
    g[0] = 0.0
    p = np.zeros(N)
    adam_update(p, np.zeros(N), np.zeros(N), g, 0.001, 0.9, 0.999, 1e-8, 1)
    # mhat = (1-b1) g / (1-b1) = g, vhat = g^2, so the step is lr * g / (|g| + eps)
    assert p[0] == 0.0
    assert_allclose(p, -0.001 * g / (np.abs(g) + 1e-8), rtol=1e-13)
    assert_allclose(p[1:], -0.001 * np.sign(g[1:]), rtol=2e-5)  # |g| >= 1e-3 here


# ---------------------------------------------------------------------------
# clipping and the small buffer kernels
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
def test_sum_squares_matches_reference(dt):
    """sum_squares equals sum(x^2) computed in float64, also for float32 buffers (squares not rounded to float32)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(1001).astype(dt)
    assert_allclose(sum_squares(x), ref.global_norm(x) ** 2, rtol=1e-13)


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("ratio", [0.25, 0.999, 1.0, 1.001, 3.0])
def test_clip_fires_exactly_above_max_norm_and_rescales(ratio, dt):
    """clip_by_global_norm fires iff norm > max_norm, then the global norm is max_norm and the direction kept.

    ratio = norm / max_norm; ratio 1 (norm == max_norm) must not fire.
    """
    rng = np.random.default_rng(6)
    g = (rng.standard_normal(N) * 2.0).astype(dt)
    norm = np.sqrt(sum_squares(g))
    max_norm = float(norm) / ratio if ratio != 1.0 else float(norm)
    g0 = g.astype(np.float64)
    fired = clip_by_global_norm(g, max_norm, norm)
    r, r_fired = ref.clip_by_global_norm(g0, max_norm)
    assert fired == r_fired == (ratio > 1.0)
    assert_allclose(g, r, **ref.tol(dt, max_norm))
    if fired:
        assert_allclose(ref.global_norm(g), max_norm, **ref.tol(dt, max_norm))
        assert_allclose(g / ref.global_norm(g), g0 / norm, **ref.tol(dt))
    else:
        assert np.array_equal(g, g0.astype(dt))  # untouched, bit for bit


@pytest.mark.parametrize("max_norm", [0.0, -1.0])
def test_clip_disabled_by_non_positive_max_norm(max_norm):
    """max_norm <= 0 never clips, whatever the norm."""
    g = np.full(N, 1e6)
    assert not clip_by_global_norm(g, max_norm, np.sqrt(sum_squares(g)))
    assert np.all(g == 1e6)


@pytest.mark.parametrize("dt", DTYPES)
def test_scale_and_add_scaled(dt):
    """scale_ gives x * f and add_scaled_ gives x + f * y, in place and in the buffer's dtype."""
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal(N).astype(dt), rng.standard_normal(N).astype(dt)
    x0 = x.astype(np.float64)
    scale_(x, 0.3)
    assert x.dtype == dt
    assert_allclose(x, 0.3 * x0, **ref.tol(dt))
    x1 = x.astype(np.float64)
    add_scaled_(x, y, -1e-2)
    assert_allclose(x, x1 - 1e-2 * y.astype(np.float64), **ref.tol(dt))


@pytest.mark.parametrize("update", ["adam", "sgd"])
def test_update_norms_of_a_large_float32_buffer_are_float64_accurate(update):
    """The fused sums of g**2 (float32 lanes per block, blocks added in float64) stay within
    1e-6 of a float64 sum over 300k terms of mixed magnitude, split at n_l2 as asked."""
    from kernels.optim import adam_apply
    rng = np.random.default_rng(3)
    n, n_l2 = 300_000, 123_457
    g = (rng.standard_normal(n) * rng.lognormal(0, 2, n)).astype(np.float32)
    p = rng.standard_normal(n).astype(np.float32)
    eff = g.astype(np.float64) + np.where(np.arange(n) < n_l2, 0.01, 0.0) * p
    z = np.zeros_like(p)
    if update == "adam":
        sw, sb = adam_apply(p.copy(), z.copy(), z.copy(), g, 1e-3, 1e-8, 0.9, 0.999, 0.01, n_l2)
    else:
        sw, sb = sgd_update(p.copy(), z.copy(), g, 0.01, 0.0, False, 0.01, n_l2)
    assert sw == pytest.approx(np.sum(eff[:n_l2] ** 2), rel=1e-6)
    assert sb == pytest.approx(np.sum(eff[n_l2:] ** 2), rel=1e-6)
