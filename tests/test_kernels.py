"""Every compiled kernel equals the float64 NumPy reference in tests/reference.py.

Shapes include batch 1, width 1 and odd sizes; both dtypes; both GEMM routes;
every activation and every loss.  Then property tests (hypothesis), numerical
stability at extreme logits, a hand-worked 2-2-1 network, and whole training
steps of ``kernels.train.train_epochs`` against the reference step.
"""
import contextlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.network import Network, Trainer
from kernels import train as KT
from kernels.activations import ACTIVATIONS, SOFTMAX, activation_backward, activation_forward
from kernels.dense import ROUTE_BLAS, ROUTE_LOOPS, ROUTES, dense_backward, dense_forward
from kernels.losses import LOSSES, loss_forward

try:
    import reference as ref
except ImportError:  # tests/ collected as a package
    from tests import reference as ref

DTYPES = (np.float32, np.float64)
ROUTE_LIST = (ROUTE_LOOPS, ROUTE_BLAS)
ALPHA = 0.05  # leaky_relu slope used throughout (not the default, so it is really passed)
#: (B, n_in, n_out): batch 1, width 1, odd sizes, and one big enough for BLAS to matter
SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 4), (7, 13, 5), (3, 6, 1), (33, 40, 17)]

PROP = settings(deadline=None, max_examples=25)


def _rand(rng, shape, dt, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dt)


def _targets(rng, loss, B, n, dt):
    """Targets in the encoding of each loss: 0/1, one-hot rows, or real values."""
    if loss == "bce":
        y = (rng.random((B, n)) < 0.5).astype(float)
    elif loss == "softmax_ce":
        y = np.eye(n)[rng.integers(0, n, B)]
    else:
        y = rng.standard_normal((B, n))
    return np.ascontiguousarray(y, dtype=dt)


@contextlib.contextmanager
def _no_fp_warnings():
    """Any NumPy overflow/invalid/divide, or any Python warning, inside is an error."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        yield


# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (6, 1), (7, 13)])
def test_activation_forward_matches_reference(act, dt, shape):
    """activation_forward equals the reference for every activation, dtype and odd shape."""
    rng = np.random.default_rng(1)
    z = _rand(rng, shape, dt, 3.0)
    z.flat[::3] = 0.0  # exact zeros (the ReLU kink) in every shape
    a = np.full_like(z, np.nan)
    activation_forward(a, z, ACTIVATIONS[act], ALPHA)
    assert a.dtype == dt
    assert_allclose(a, ref.activation_forward(z, act, ALPHA), **ref.tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("act", ref.HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (6, 1), (7, 13)])
def test_activation_backward_matches_reference(act, dt, shape):
    """activation_backward (from the stored a, z) equals da * act'(z) for every hidden activation."""
    rng = np.random.default_rng(2)
    z = _rand(rng, shape, dt, 3.0)
    z.flat[::3] = 0.0
    a = np.empty_like(z)
    activation_forward(a, z, ACTIVATIONS[act], ALPHA)
    da = _rand(rng, shape, dt)
    dz = np.full_like(z, np.nan)
    activation_backward(dz, da, a, z, ACTIVATIONS[act], ALPHA)
    assert_allclose(dz, ref.activation_backward(da, z, act, ALPHA), **ref.tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
def test_relu_exact_zeros(dt):
    """At z == 0 exactly relu gives 0 with derivative 0, leaky_relu gives 0 with derivative alpha."""
    z = np.array([[0.0, -0.0, 1e-30, -1e-30, 2.0, -2.0]], dtype=dt)
    da = np.ones_like(z)
    a, dz = np.empty_like(z), np.empty_like(z)
    activation_forward(a, z, ACTIVATIONS["relu"], ALPHA)
    activation_backward(dz, da, a, z, ACTIVATIONS["relu"], ALPHA)
    assert_array_equal(a, [[0, 0, dt(1e-30), 0, 2, 0]])
    assert_array_equal(dz, [[0, 0, 1, 0, 1, 0]])
    activation_forward(a, z, ACTIVATIONS["leaky_relu"], ALPHA)
    activation_backward(dz, da, a, z, ACTIVATIONS["leaky_relu"], ALPHA)
    assert_allclose(a, [[0, 0, 1e-30, -ALPHA * 1e-30, 2, -2 * ALPHA]], rtol=1e-6, atol=0)
    assert_allclose(dz, [[ALPHA, ALPHA, 1, ALPHA, 1, ALPHA]], rtol=1e-6)


# ---------------------------------------------------------------------------
# dense layer
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("route", ROUTE_LIST)
@pytest.mark.parametrize("act", list(ACTIVATIONS))
@pytest.mark.parametrize("B,n_in,n_out", SHAPES)
def test_dense_forward_matches_reference(B, n_in, n_out, act, route, dt):
    """dense_forward gives z = inp @ W + b and a = act(z) on both routes, both dtypes."""
    rng = np.random.default_rng(B * 1000 + n_in * 10 + n_out)
    inp = _rand(rng, (B, n_in), dt)
    W = _rand(rng, (n_in, n_out), dt, 1.0 / np.sqrt(n_in))
    b = _rand(rng, n_out, dt)
    z, a = np.full((B, n_out), np.nan, dt), np.full((B, n_out), np.nan, dt)
    dense_forward(z, a, inp, W, b, ACTIVATIONS[act], ALPHA, route)
    rz, ra = ref.dense_forward(inp, W, b, act, ALPHA)
    assert_allclose(z, rz, **ref.tol(dt))
    assert_allclose(a, ra, **ref.tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("route", ROUTE_LIST)
def test_dense_forward_relu_exact_zero_rows(route, dt):
    """A zero input row with zero bias gives z == 0 exactly and relu(0) == 0 on both routes."""
    rng = np.random.default_rng(3)
    inp = _rand(rng, (4, 5), dt)
    inp[1] = 0.0
    W = _rand(rng, (5, 3), dt)
    b = np.array([0.0, 0.5, -0.5], dtype=dt)
    z, a = np.empty((4, 3), dt), np.empty((4, 3), dt)
    dense_forward(z, a, inp, W, b, ACTIVATIONS["relu"], ALPHA, route)
    assert_array_equal(z[1], b)
    assert_array_equal(a[1], [0.0, 0.5, 0.0])
    assert_allclose(a, ref.dense_forward(inp, W, b, "relu")[1], **ref.tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
def test_dense_forward_a_may_alias_z(dt):
    """With a aliasing z, dense_forward leaves act(inp @ W + b) in the shared buffer."""
    rng = np.random.default_rng(4)
    inp, W, b = _rand(rng, (7, 13), dt), _rand(rng, (13, 5), dt), _rand(rng, 5, dt)
    for route in ROUTE_LIST:
        z = np.empty((7, 5), dt)
        dense_forward(z, z, inp, W, b, ACTIVATIONS["tanh"], ALPHA, route)
        assert_allclose(z, ref.dense_forward(inp, W, b, "tanh")[1], **ref.tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("route", ROUTE_LIST)
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("B,n_in,n_out", SHAPES)
def test_dense_backward_matches_reference(B, n_in, n_out, accumulate, route, dt):
    """dense_backward gives dinp = dz W^T and dW, db overwritten or accumulated into (+=)."""
    rng = np.random.default_rng(B * 1000 + n_in * 10 + n_out + 7)
    inp, W, dz = _rand(rng, (B, n_in), dt), _rand(rng, (n_in, n_out), dt), _rand(rng, (B, n_out), dt)
    dW0, db0 = _rand(rng, (n_in, n_out), dt), _rand(rng, n_out, dt)
    dW, db = dW0.copy(), db0.copy()
    dinp = np.full((B, n_in), np.nan, dt)
    dense_backward(dinp, dW, db, dz, inp, W, route, accumulate, True)
    r_dinp, r_dW, r_db = ref.dense_backward(dz, inp, W, *((dW0, db0) if accumulate else ()))
    assert_allclose(dinp, r_dinp, **ref.tol(dt))
    assert_allclose(dW, r_dW, **ref.tol(dt))
    assert_allclose(db, r_db, **ref.tol(dt))


@pytest.mark.parametrize("route", ROUTE_LIST)
def test_dense_backward_without_dinp_leaves_it(route):
    """need_dinp=False leaves dinp untouched and still computes dW, db."""
    rng = np.random.default_rng(5)
    inp, W, dz = _rand(rng, (7, 13), np.float64), _rand(rng, (13, 5), np.float64), _rand(rng, (7, 5), np.float64)
    dinp = np.full((7, 13), 123.0)
    dW, db = np.empty((13, 5)), np.empty(5)
    dense_backward(dinp, dW, db, dz, inp, W, route, False, False)
    assert np.all(dinp == 123.0)
    _, r_dW, r_db = ref.dense_backward(dz, inp, W)
    assert_allclose(dW, r_dW, **ref.tol(np.float64))
    assert_allclose(db, r_db, **ref.tol(np.float64))


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("B,n", [(1, 1), (1, 4), (6, 1), (7, 13)])
def test_loss_forward_matches_reference(loss, B, n, dt):
    """loss_forward returns the documented summed loss and writes dz = scale * (p - y)."""
    if loss == "softmax_ce" and n == 1:
        n = 2  # a softmax over one class is constant; keep the test meaningful
    rng = np.random.default_rng(B * 100 + n)
    z = _rand(rng, (B, n), dt, 4.0)
    y = _targets(rng, loss, B, n, dt)
    dz = np.full_like(z, np.nan)
    total = loss_forward(dz, z, y, LOSSES[loss], 1.0 / B, True)
    r_total, r_dz = ref.loss_forward(z, y, loss, 1.0 / B)
    assert_allclose(total, r_total, **ref.tol(dt))
    assert_allclose(dz, r_dz, **ref.tol(dt))


@pytest.mark.parametrize("loss", list(LOSSES))
def test_loss_forward_error_optional_and_aliasable(loss):
    """need_error=False leaves dz untouched; dz aliasing z gives the same error in place."""
    rng = np.random.default_rng(6)
    z = _rand(rng, (5, 3), np.float64, 3.0)
    y = _targets(rng, loss, 5, 3, np.float64)
    dz = np.full_like(z, 7.0)
    total = loss_forward(dz, z, y, LOSSES[loss], 0.2, False)
    assert np.all(dz == 7.0)
    r_total, r_dz = ref.loss_forward(z, y, loss, 0.2)
    assert_allclose(total, r_total, **ref.tol(np.float64))
    zz = z.copy()
    total2 = loss_forward(zz, zz, y, LOSSES[loss], 0.2, True)
    assert_allclose(total2, r_total, **ref.tol(np.float64))
    assert_allclose(zz, r_dz, **ref.tol(np.float64))


# ---------------------------------------------------------------------------
# property tests
# ---------------------------------------------------------------------------
_dims = st.integers(1, 12)


@PROP
@given(B=_dims, n_in=_dims, n_out=_dims, act=st.sampled_from(list(ACTIVATIONS)),
       route=st.sampled_from(ROUTE_LIST), dt=st.sampled_from(DTYPES), seed=st.integers(0, 2**31))
def test_property_dense_forward_equals_reference(B, n_in, n_out, act, route, dt, seed):
    """For any shape, activation, route and dtype dense_forward equals the reference."""
    rng = np.random.default_rng(seed)
    inp, W, b = _rand(rng, (B, n_in), dt), _rand(rng, (n_in, n_out), dt, 0.5), _rand(rng, n_out, dt)
    z, a = np.empty((B, n_out), dt), np.empty((B, n_out), dt)
    dense_forward(z, a, inp, W, b, ACTIVATIONS[act], ALPHA, route)
    rz, ra = ref.dense_forward(inp, W, b, act, ALPHA)
    assert_allclose(z, rz, **ref.tol(dt))
    assert_allclose(a, ra, **ref.tol(dt))


@PROP
@given(B=_dims, n_in=_dims, n_out=_dims, route=st.sampled_from(ROUTE_LIST),
       dt=st.sampled_from(DTYPES), seed=st.integers(0, 2**31))
def test_property_dense_backward_accumulate_twice_is_twice(B, n_in, n_out, route, dt, seed):
    """Accumulating the same batch twice into zeroed dW, db gives twice one overwrite, and the reference."""
    rng = np.random.default_rng(seed)
    inp, W, dz = _rand(rng, (B, n_in), dt), _rand(rng, (n_in, n_out), dt), _rand(rng, (B, n_out), dt)
    dinp = np.empty((B, n_in), dt)
    dW1, db1 = np.full((n_in, n_out), np.nan, dt), np.full(n_out, np.nan, dt)
    dense_backward(dinp, dW1, db1, dz, inp, W, route, False, True)
    dW2, db2 = np.zeros((n_in, n_out), dt), np.zeros(n_out, dt)
    dense_backward(dinp, dW2, db2, dz, inp, W, route, True, True)
    dense_backward(dinp, dW2, db2, dz, inp, W, route, True, True)
    assert_allclose(dW2, 2 * dW1.astype(np.float64), **ref.tol(dt))
    assert_allclose(db2, 2 * db1.astype(np.float64), **ref.tol(dt))
    _, r_dW, r_db = ref.dense_backward(dz, inp, W)
    assert_allclose(dW2, 2 * r_dW, **ref.tol(dt))
    assert_allclose(db2, 2 * r_db, **ref.tol(dt))


@PROP
@given(B=st.integers(1, 6), n=st.integers(1, 20), dt=st.sampled_from(DTYPES),
       scale=st.sampled_from([1e-3, 1.0, 30.0, 1e3, 1e4]), seed=st.integers(0, 2**31))
def test_property_softmax_rows_sum_to_one(B, n, dt, scale, seed):
    """softmax rows are in [0, 1], sum to 1 and equal the reference, for logits up to 1e4."""
    rng = np.random.default_rng(seed)
    z = _rand(rng, (B, n), dt, scale)
    a = np.empty_like(z)
    activation_forward(a, z, SOFTMAX, 0.0)
    assert np.all((a >= 0) & (a <= 1))
    eps = np.finfo(dt).eps
    assert_allclose(a.astype(np.float64).sum(axis=1), 1.0, rtol=0, atol=4 * n * eps)
    assert_allclose(a, ref.softmax(z), **ref.tol(dt))


@PROP
@given(B=st.integers(1, 8), n=st.integers(2, 9), loss=st.sampled_from(list(LOSSES)),
       dt=st.sampled_from(DTYPES), scale=st.sampled_from([0.1, 3.0, 40.0]),
       seed=st.integers(0, 2**31))
def test_property_loss_equals_reference(B, n, loss, dt, scale, seed):
    """For any batch, width, loss and dtype loss_forward and its error equal the reference."""
    rng = np.random.default_rng(seed)
    z = _rand(rng, (B, n), dt, scale)
    y = _targets(rng, loss, B, n, dt)
    dz = np.empty_like(z)
    total = loss_forward(dz, z, y, LOSSES[loss], 1.0 / B, True)
    r_total, r_dz = ref.loss_forward(z, y, loss, 1.0 / B)
    assert_allclose(total, r_total, **ref.tol(dt))
    assert_allclose(dz, r_dz, **ref.tol(dt))


# ---------------------------------------------------------------------------
# numerical stability
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("dt", DTYPES)
def test_sigmoid_extreme_inputs(dt):
    """sigmoid(+-800) is exactly 1 and 0 with derivative 0, no overflow and no warning."""
    z = np.array([[800.0, -800.0]], dtype=dt)
    a, dz = np.empty_like(z), np.empty_like(z)
    with _no_fp_warnings():
        activation_forward(a, z, ACTIVATIONS["sigmoid"], 0.0)
        activation_backward(dz, np.ones_like(z), a, z, ACTIVATIONS["sigmoid"], 0.0)
        r = ref.activation_forward(z, "sigmoid")
    assert_array_equal(a, [[1.0, 0.0]])
    assert_array_equal(dz, [[0.0, 0.0]])
    assert_array_equal(r, [[1.0, 0.0]])


@pytest.mark.parametrize("dt", DTYPES)
def test_softmax_large_logits(dt):
    """softmax([1000, 1001]) and softmax([-1000, -1001]) are finite and equal 1/(1+e), e/(1+e)."""
    z = np.array([[1000.0, 1001.0], [-1000.0, -1001.0]], dtype=dt)
    a = np.empty_like(z)
    with _no_fp_warnings():
        activation_forward(a, z, SOFTMAX, 0.0)
        r = ref.softmax(z)
    e = np.e
    expected = [[1 / (1 + e), e / (1 + e)], [e / (1 + e), 1 / (1 + e)]]
    assert np.all(np.isfinite(a))
    assert_allclose(a, expected, **ref.tol(dt))
    assert_allclose(r, expected, rtol=1e-15)


# logits +-1e4 with targets and the exact loss and error (scale 1) of each loss
_EXTREME = {
    # per element: max(z,0) - z y + log1p(exp(-|z|)) = 0, 1e4, 1e4, 0; error sigmoid(z) - y
    "bce": ([[1e4, -1e4, 1e4, -1e4]], [[1, 1, 0, 0]], 2e4, [[0, -1, 1, 0]]),
    # row 1: lse = 1e4, loss 1e4 - 1e4 = 0; row 2: lse = 1e4, loss 1e4 - (-1e4) = 2e4
    "softmax_ce": ([[1e4, -1e4], [-1e4, 1e4]], [[1, 0], [1, 0]], 2e4, [[0, 0], [-1, 1]]),
    # 0.5 * ((1e4 - 0)^2 + (-1e4 - 1)^2) = 0.5 * (1e8 + 100020001)
    "mse": ([[1e4, -1e4]], [[0, 1]], 0.5 * (1e8 + 100020001), [[1e4, -10001]]),
}


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("loss", list(LOSSES))
def test_losses_at_extreme_logits(loss, dt):
    """Every loss at logits +-1e4 is finite, equals its hand value, and warns about nothing."""
    z, y, expected_total, expected_dz = _EXTREME[loss]
    z, y = np.array(z, dtype=dt), np.array(y, dtype=dt)
    dz = np.empty_like(z)
    with _no_fp_warnings():
        total = loss_forward(dz, z, y, LOSSES[loss], 1.0, True)
        r_total, r_dz = ref.loss_forward(z, y, loss)
    assert np.isfinite(total) and np.all(np.isfinite(dz))
    assert_allclose(total, expected_total, **ref.tol(dt))
    assert_allclose(dz, expected_dz, **ref.tol(dt))
    assert_allclose(r_total, expected_total, rtol=1e-15)
    assert_allclose(r_dz, expected_dz, rtol=1e-15)


# ---------------------------------------------------------------------------
# hand-worked example
# ---------------------------------------------------------------------------
def test_hand_worked_2_2_1_relu_mse():
    """A 2-2-1 ReLU/MSE net's forward, loss, gradients and one SGD step match arithmetic by hand."""
    x = np.array([[1.0, 2.0]])
    y = np.array([[1.0]])
    W1 = np.array([[1.0, -1.0], [0.5, 1.0]])
    b1 = np.array([0.0, -1.5])
    W2 = np.array([[1.0], [-2.0]])
    b2 = np.array([0.5])
    # z1 = x W1 + b1 = [1*1 + 2*0.5 + 0, 1*(-1) + 2*1 - 1.5] = [2, -0.5]
    # a1 = relu(z1) = [2, 0]            (second unit is off)
    # z2 = a1 W2 + b2 = 2*1 + 0*(-2) + 0.5 = 2.5
    # loss = 0.5 (z2 - y)^2 = 0.5 * 1.5^2 = 1.125
    # dz2 = (z2 - y) / B = 1.5           (B = 1)
    # dW2 = a1^T dz2 = [[2*1.5], [0*1.5]] = [[3], [0]];  db2 = [1.5]
    # da1 = dz2 W2^T = [1.5*1, 1.5*(-2)] = [1.5, -3]
    # dz1 = da1 * relu'(z1) = [1.5*1, -3*0] = [1.5, 0]
    # dW1 = x^T dz1 = [[1*1.5, 1*0], [2*1.5, 2*0]] = [[1.5, 0], [3, 0]];  db1 = [1.5, 0]
    relu = ACTIVATIONS["relu"]
    z1, a1 = np.empty((1, 2)), np.empty((1, 2))
    z2, a2 = np.empty((1, 1)), np.empty((1, 1))
    dense_forward(z1, a1, x, W1, b1, relu, 0.0, ROUTE_LOOPS)
    dense_forward(z2, a2, a1, W2, b2, ACTIVATIONS["identity"], 0.0, ROUTE_LOOPS)
    assert_array_equal(z1, [[2.0, -0.5]])
    assert_array_equal(a1, [[2.0, 0.0]])
    assert_array_equal(z2, [[2.5]])
    dz2 = np.empty((1, 1))
    assert loss_forward(dz2, z2, y, LOSSES["mse"], 1.0, True) == 1.125
    assert_array_equal(dz2, [[1.5]])
    da1, dW2, db2 = np.empty((1, 2)), np.empty((2, 1)), np.empty(1)
    dense_backward(da1, dW2, db2, dz2, a1, W2, ROUTE_LOOPS, False, True)
    assert_array_equal(dW2, [[3.0], [0.0]])
    assert_array_equal(db2, [1.5])
    assert_array_equal(da1, [[1.5, -3.0]])
    dz1 = np.empty((1, 2))
    activation_backward(dz1, da1, a1, z1, relu, 0.0)
    assert_array_equal(dz1, [[1.5, 0.0]])
    dx, dW1, db1 = np.empty((1, 2)), np.empty((2, 2)), np.empty(2)
    dense_backward(dx, dW1, db1, dz1, x, W1, ROUTE_LOOPS, False, False)
    assert_array_equal(dW1, [[1.5, 0.0], [3.0, 0.0]])
    assert_array_equal(db1, [1.5, 0.0])

    # The same through the whole-epoch engine: one plain SGD step with lr = 0.1,
    # W1 -> [[1 - 0.15, -1], [0.5 - 0.3, 1]], b1 -> [-0.15, -1.5], W2 -> [[0.7], [-2]], b2 -> [0.35]
    net = Network([2, 2, 1], "relu", dtype=np.float64)
    net.W(0)[:], net.b(0)[:], net.W(1)[:], net.b(1)[:] = W1, b1, W2, b2
    tr = Trainer(net, x, y, loss="mse", optimizer="sgd", lr=0.1, batch_size=1, shuffle=False)
    done, epoch_out, _, _ = tr.run(1)
    assert done == 1
    assert epoch_out[0, KT.E_LOSS_SUM] == 1.125
    assert_allclose(net.W(0), [[0.85, -1.0], [0.2, 1.0]], rtol=1e-15)
    assert_allclose(net.b(0), [-0.15, -1.5], rtol=1e-15)
    assert_allclose(net.W(1), [[0.7], [-2.0]], rtol=1e-15)
    assert_allclose(net.b(1), [0.35], rtol=1e-15)


# ---------------------------------------------------------------------------
# whole network: train_epochs and predict_logits against the reference
# ---------------------------------------------------------------------------
def _random_net(sizes, act, dt, seed):
    """A Network with random weights and non-zero biases."""
    rng = np.random.default_rng(seed)
    net = Network(sizes, act, dtype=dt, alpha=ALPHA)
    net.initialize(rng, "xavier")
    for l in range(net.n_layers):
        net.b(l)[:] = 0.3 * rng.standard_normal(sizes[l + 1])
    return net


def _layers(net):
    return [(net.W(l).copy(), net.b(l).copy()) for l in range(net.n_layers)]


OPT_CASES = {
    "adam": dict(optimizer="adam", lr=0.01, beta1=0.9, beta2=0.99, eps=1e-7),
    "sgd_nesterov": dict(optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True),
}
NET_CASES = [  # sizes, hidden activation, loss
    ([5, 7, 3], "tanh", "softmax_ce"),
    ([4, 6, 5, 2], "gelu", "bce"),
    ([3, 8, 1], "leaky_relu", "mse"),
]


@pytest.mark.parametrize("mode", ["serial", "split"])
@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("opt", list(OPT_CASES))
@pytest.mark.parametrize("sizes,act,loss", NET_CASES)
def test_train_epochs_full_batch_equals_reference_steps(sizes, act, loss, opt, clip, dt, mode):
    """Three full-batch epochs (shuffle off) equal three reference steps: loss, grads, params, state, clip count.

    mode split: the 11-row batch runs as halves of 6 and 5 rows on two threads."""
    rng = np.random.default_rng(len(sizes) * 10 + sizes[0])
    N = 11
    net = _random_net(sizes, act, dt, seed=sizes[0])
    X = _rand(rng, (N, sizes[0]), dt)
    Y = _targets(rng, loss, N, sizes[-1], dt)
    hp = dict(OPT_CASES[opt])
    layers = _layers(net)
    if clip:  # a max_norm below the first step's gradient norm, so clipping fires at least once
        _, g0 = ref.network_gradients(X, Y, layers, act, loss, ALPHA)
        hp["clip_norm"] = 0.5 * ref.global_norm([g for pair in g0 for g in pair])
    tr = Trainer(net, X, Y, loss=loss, batch_size=N, shuffle=False, mode=mode, **hp)
    n = net.n_params
    opt_a, opt_b = np.zeros(n), np.zeros(n)
    clipped_any = False
    tl = ref.tol(dt, hp.get("clip_norm", 0.0))
    for t in range(1, 4):
        step = ref.train_step(layers, opt_a, opt_b, X, Y, act, loss, t=t, alpha=ALPHA, **hp)
        done, epoch_out, _, _ = tr.run(1)
        assert done == 1
        assert epoch_out[0, KT.E_STEPS] == 1 and epoch_out[0, KT.E_SEEN] == N
        assert epoch_out[0, KT.E_CLIPPED] == step["clipped"]
        assert_allclose(epoch_out[0, KT.E_LOSS_SUM] / N, step["loss"], **tl)
        assert_allclose(tr.grads, step["grads"], **tl)
        assert_allclose(net.params, step["params"], **tl)
        assert_allclose(tr.opt_a, step["opt_a"], **tl)
        assert_allclose(tr.opt_b, step["opt_b"], **tl)
        layers, opt_a, opt_b = step["layers"], step["opt_a"], step["opt_b"]
        clipped_any |= step["clipped"]
    assert tr.ip[KT.STEP] == 3
    assert clipped_any == clip  # the clipped cases really exercised clipping


@pytest.mark.parametrize("dt", DTYPES)
def test_train_epochs_l2_penalty_equals_reference_step(dt):
    """With hp[L2] > 0 a full-batch SGD step uses grad + l2 * W (biases not penalised); the loss excludes it."""
    rng = np.random.default_rng(10)
    sizes, act, loss = [4, 6, 2], "sigmoid", "bce"
    net = _random_net(sizes, act, dt, seed=4)
    X, Y = _rand(rng, (8, 4), dt), _targets(rng, loss, 8, 2, dt)
    layers = _layers(net)
    tr = Trainer(net, X, Y, loss=loss, optimizer="sgd", lr=0.5, batch_size=8, shuffle=False, l2=0.1)
    _, epoch_out, _, _ = tr.run(1)
    n = net.n_params
    step = ref.train_step(layers, np.zeros(n), np.zeros(n), X, Y, act, loss, optimizer="sgd",
                          lr=0.5, l2=0.1, alpha=ALPHA)
    no_l2 = ref.train_step(layers, np.zeros(n), np.zeros(n), X, Y, act, loss, optimizer="sgd",
                           lr=0.5, alpha=ALPHA)
    assert_allclose(epoch_out[0, KT.E_LOSS_SUM] / 8, step["loss"], **ref.tol(dt))
    # without clipping the penalty is added inside the update: grads keeps the data gradient
    assert_allclose(tr.grads, no_l2["grads"], **ref.tol(dt))
    assert_allclose(net.params, step["params"], **ref.tol(dt))
    # the penalty changed every weight's step and no bias's
    moved = np.abs(step["params"] - no_l2["params"]) > 1e-6
    assert np.array_equal(moved, ref.flatten([(W != 0, np.zeros_like(b)) for W, b in layers]) > 0)


@pytest.mark.parametrize("dt", DTYPES)
def test_train_epochs_clipping_fires_on_first_step(dt):
    """With max_norm = half the gradient norm, train_epochs clips, and the applied step has norm max_norm."""
    rng = np.random.default_rng(11)
    sizes, act, loss = [5, 7, 3], "tanh", "softmax_ce"
    net = _random_net(sizes, act, dt, seed=1)
    X, Y = _rand(rng, (9, 5), dt), _targets(rng, loss, 9, 3, dt)
    _, g0 = ref.network_gradients(X, Y, _layers(net), act, loss, ALPHA)
    norm = ref.global_norm([g for pair in g0 for g in pair])
    p0 = net.params.astype(np.float64)
    tr = Trainer(net, X, Y, loss=loss, optimizer="sgd", lr=1.0, batch_size=9, shuffle=False,
                 clip_norm=0.5 * norm)
    _, epoch_out, layer_out, _ = tr.run(1)
    assert epoch_out[0, KT.E_CLIPPED] == 1
    # layer_out holds the squared pre-clip norms; the plain-SGD step lr * g has the clipped norm
    assert_allclose(np.sqrt(layer_out[0, :, :2].sum()), norm, **ref.tol(dt))
    assert_allclose(ref.global_norm(p0 - net.params), 0.5 * norm, **ref.tol(dt, 0.5 * norm))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("act", ref.HIDDEN_ACTIVATIONS)
def test_predict_logits_equals_reference_forward(act, dt):
    """predict_logits (in chunks, with a short last chunk) equals the reference forward's logits."""
    rng = np.random.default_rng(12)
    sizes = [6, 9, 7, 4]
    net = _random_net(sizes, act, dt, seed=2)
    X = _rand(rng, (23, 6), dt)
    out = net.predict_logits(X, chunk=5)
    zs, _ = ref.network_forward(X, _layers(net), act, ALPHA)
    assert out.shape == (23, 4) and out.dtype == dt
    assert_allclose(out, zs[-1], **ref.tol(dt))


@pytest.mark.parametrize("dt", DTYPES)
def test_trainer_routes_loops_and_blas_agree(dt):
    """Trainer with routes=ROUTE_LOOPS and routes=ROUTE_BLAS trains to the same parameters (mini-batches, shuffle on)."""
    rng = np.random.default_rng(13)
    sizes, act, loss = [6, 16, 8, 3], "relu", "softmax_ce"
    X, Y = _rand(rng, (30, 6), dt), _targets(rng, loss, 30, 3, dt)
    results = {}
    for route in (ROUTE_LOOPS, ROUTE_BLAS):
        net = _random_net(sizes, act, dt, seed=3)
        tr = Trainer(net, X, Y, loss=loss, optimizer="adam", lr=0.01, batch_size=8,
                     shuffle=True, seed=5, routes=route)
        assert np.all(tr.layout[:, KT.ROUTE] == route)
        done, epoch_out, _, _ = tr.run(3)
        assert done == 3
        results[route] = (net.params.copy(), epoch_out[:, KT.E_LOSS_SUM].copy())
    (p_loops, l_loops), (p_blas, l_blas) = results[ROUTE_LOOPS], results[ROUTE_BLAS]
    assert not np.array_equal(p_loops, _random_net(sizes, act, dt, seed=3).params)  # it trained
    assert_allclose(p_blas, p_loops, **ref.tol(dt))
    assert_allclose(l_blas, l_loops, **ref.tol(dt))


def test_route_table_names_both_routes():
    """The route table maps 'loops' and 'blas' to the two distinct route codes tested here."""
    assert ROUTES == {"loops": ROUTE_LOOPS, "blas": ROUTE_BLAS} and ROUTE_LOOPS != ROUTE_BLAS


def test_one_and_two_blas_threads_train_identically():
    """BLAS with 1 and 2 threads gives bit-identical training (no thread-dependent reductions)."""
    from fastnn import threads
    from fastnn.network import Network, Trainer
    assert threads.available(), "SciPy's OpenBLAS thread control was not found"
    rng = np.random.default_rng(7)
    X = rng.standard_normal((512, 96)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 512)]
    results = []
    for n in (1, 2):
        net = Network([96, 256, 128, 10], "relu", dtype=np.float32)
        net.initialize(np.random.default_rng(0), "he")
        tr = Trainer(net, X, Y, loss="softmax_ce", optimizer="adam", lr=1e-3, batch_size=128,
                     mode={1: "serial", 2: "blas"}[n])
        tr.run(2)
        assert threads.get_threads() is not None
        results.append(net.params.copy())
    assert np.array_equal(results[0], results[1])


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_fused_norms_equal_separate_pass(opt):
    """Without clipping the update loop sums the norms; they equal the clipping path's separate pass."""
    from fastnn.network import Network, Trainer
    rng = np.random.default_rng(12)
    X = rng.standard_normal((64, 5))
    Y = np.eye(3)[rng.integers(0, 3, 64)]
    out = []
    for clip in (0.0, 1e30):                      # 1e30: the clip path runs but never fires
        net = Network([5, 9, 7, 3], "relu", dtype=np.float64)
        net.initialize(np.random.default_rng(0), "he")
        tr = Trainer(net, X, Y, loss="softmax_ce", optimizer=opt, lr=1e-2, batch_size=16,
                     clip_norm=clip, l2=0.05, momentum=0.9 if opt == "sgd" else 0.0)
        _, eo, lo, _ = tr.run(2)
        assert eo[:, KT.E_CLIPPED].sum() == 0
        out.append((net.params.copy(), lo.copy()))
    assert_allclose(out[0][0], out[1][0], rtol=1e-12, atol=1e-14)
    assert_allclose(out[0][1], out[1][1], rtol=1e-12, atol=1e-14)


def test_mode_calibration_leaves_the_model_unchanged():
    """Large layers trigger the calibration of the execution mode; it picks one and changes nothing."""
    from fastnn.network import Network, Trainer
    rng = np.random.default_rng(8)
    X = rng.standard_normal((2048, 256)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 2048)]
    net = Network([256, 512, 10], "relu", dtype=np.float32)      # 128*256*512 = 16.8M MACs
    net.initialize(np.random.default_rng(0), "he")
    before = net.params.copy()
    tr = Trainer(net, X, Y, loss="softmax_ce", optimizer="adam", lr=1e-3, batch_size=128)
    assert set(tr.calibration["us_per_step"]) == {"blas", "serial"}
    assert tr.mode == tr.calibration["mode"] == min(tr.calibration["us_per_step"],
                                                    key=tr.calibration["us_per_step"].get)
    assert tr.calibration["sample_rows"] == 2048 and all(
        us > 0 for us in tr.calibration["us_per_step"].values())
    assert np.array_equal(net.params, before) and tr.ip[KT.STEP] == 0
    small = Trainer(Network([8, 16, 2], "relu"), X[:64, :8], Y[:64, :2], loss="softmax_ce",
                    optimizer="adam", lr=1e-3, batch_size=32)
    assert small.mode == "serial" and small.blas_threads == 1 and not hasattr(small, "calibration")


def test_candidate_modes_follow_the_shape_rule():
    """auto chooses between serial and blas (same bits) only; 2-thread BLAS only for big layers."""
    from fastnn.network import candidate_modes, estimated_seconds
    assert candidate_modes(4, [2, 8, 8, 1]) == ["serial"]                       # W1
    assert candidate_modes(32, [30, 64, 64, 1]) == ["serial"]                   # W2
    assert candidate_modes(128, [784, 256, 128, 10]) == ["blas", "serial"]      # W3
    # W3, 60,000 rows: 90M multiply-adds per step, 469 steps per epoch, at 50 GMAC/s
    assert estimated_seconds(128, [784, 256, 128, 10], 60_000, 1) == pytest.approx(
        3 * 128 * 234_752 * 469 / 50e9)


def test_calibration_is_skipped_for_short_runs_and_stops_on_a_diverging_sample():
    """epochs= bounds the calibration to runs worth it; a diverging sample gives the rule's mode."""
    from fastnn.network import Network, Trainer
    rng = np.random.default_rng(8)
    X = rng.standard_normal((1024, 256)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 1024)]
    net = Network([256, 512, 10], "relu", dtype=np.float32)
    net.initialize(np.random.default_rng(0), "he")
    kw = dict(loss="softmax_ce", optimizer="adam", lr=1e-3, batch_size=128)
    short = Trainer(net, X, Y, epochs=3, **kw)              # about 0.01 s of training
    assert short.mode == "blas" and not hasattr(short, "calibration")
    wild = Trainer(net, X * 1e4, Y, optimizer="sgd", lr=10.0, batch_size=128,
                   loss="softmax_ce", loss_limit=1e3)
    assert wild.calibration["diverged"] and wild.mode == "blas"


@pytest.mark.parametrize("bad,match", [
    (dict(mode="fast"), "mode 'fast'"),
    (dict(batch_size=0), "batch_size 0"),
    (dict(X=np.zeros((5, 3))), r"X has shape \(5, 3\)"),
    (dict(X=np.zeros((0, 4))), r"X has shape \(0, 4\)"),
    (dict(Y=np.zeros((6, 3))), r"Y has shape \(6, 3\)"),
    (dict(X=np.full((6, 4), np.nan)), "finite"),
])
def test_trainer_rejects_bad_arguments(bad, match):
    """The low-level Trainer names a wrong mode, batch size, shape or a NaN input."""
    from fastnn.network import Network, Trainer
    args = {**dict(X=np.zeros((6, 4)), Y=np.zeros((6, 2)), mode="auto", batch_size=2), **bad}
    with pytest.raises(ValueError, match=match):
        Trainer(Network([4, 3, 2], "relu"), args.pop("X"), args.pop("Y"), loss="softmax_ce",
                optimizer="adam", lr=1e-3, **args)


def _split_pair(dt, diagnostics=False, threads=None, routes=None, act="relu", x_scale=1.0,
                bias0=0.0):
    """(serial, split) trainers after 2 shuffled epochs of 33 rows in batches of 16 (16, 16, 1)."""
    import numba
    from fastnn.network import Network, Trainer
    rng = np.random.default_rng(21)
    X = _rand(rng, (33, 7), dt) * dt(x_scale)
    Y = np.eye(4, dtype=dt)[rng.integers(0, 4, 33)]
    out = []
    for mode in ("serial", "split"):
        net = Network([7, 12, 9, 4], act, dtype=dt)
        net.initialize(np.random.default_rng(3), "he")
        net.b(0)[:] = bias0
        tr = Trainer(net, X, Y, loss="softmax_ce", optimizer="adam", lr=0.01, batch_size=16,
                     seed=4, mode=mode, diagnostics=diagnostics, routes=routes, l2=0.01)
        before = numba.get_num_threads()
        numba.set_num_threads(threads or before)
        try:
            out.append((tr, tr.run(2)))
        finally:
            numba.set_num_threads(before)
    return out


@pytest.mark.parametrize("route", [ROUTE_LOOPS, ROUTE_BLAS])
@pytest.mark.parametrize("dt", DTYPES)
def test_split_batches_train_like_serial(dt, route):
    """Two halves on two threads (with a 1-row last batch) train like the serial engine, both routes."""
    (serial, (ds, eo_s, lo_s, _)), (split, (dp, eo_p, lo_p, _)) = _split_pair(dt, routes=route)
    assert ds == dp == 2 and split.ws2 is not None and serial.ws2 is None
    assert np.all(split.layout[:, KT.ROUTE] == route)
    assert_allclose(split.net.params, serial.net.params, **ref.tol(dt))
    assert_allclose(eo_p, eo_s, **ref.tol(dt))
    assert_allclose(lo_p[:, :, :2], lo_s[:, :, :2], **ref.tol(dt))      # gradient norms


@pytest.mark.parametrize("act,x_scale,bias0", [("relu", 1.0, -2.0), ("tanh", 30.0, 0.0)])
def test_split_diagnostics_equal_serial(act, x_scale, bias0):
    """Dead-unit (relu) and saturation (tanh) statistics of split batches count every row once, as serial does."""
    (_, (_, _, lo_s, alive_s)), (_, (_, _, lo_p, alive_p)) = _split_pair(
        np.float64, diagnostics=True, act=act, x_scale=x_scale, bias0=bias0)
    assert np.array_equal(alive_p, alive_s)
    assert np.array_equal(lo_p[:, :, KT.L_SAT], lo_s[:, :, KT.L_SAT])
    if act == "relu":
        assert alive_s.any() and not alive_s.all()          # some units alive, some never
    else:
        assert lo_s[:, :, KT.L_SAT].sum() > 0


def test_split_one_and_two_threads_train_identically():
    """The halves are fixed by the batch, not the thread count: 1 and 2 Numba threads give equal bits."""
    (_, _), (one, (_, eo1, lo1, _)) = _split_pair(np.float32, threads=1)
    (_, _), (two, (_, eo2, lo2, _)) = _split_pair(np.float32, threads=2)
    assert np.array_equal(one.net.params, two.net.params)
    assert np.array_equal(eo1, eo2) and np.array_equal(lo1, lo2)


_SPLIT_FROM_CACHE = r"""
import sys, numpy as np
from fastnn.network import Network, Trainer
from kernels import train as K
X = np.random.default_rng(0).standard_normal((200, 6)).astype(np.float32)
Y = (X[:, :1] > 0).astype(np.float32)
net = Network([6, 8, 1], "relu"); net.initialize(np.random.default_rng(0), "he")
tr = Trainer(net, X, Y, loss="bce", optimizer="adam", lr=0.01, batch_size=33, mode="split")
if sys.argv[1] == "callee":      # what a first run killed during compilation leaves cached
    K._split_forward_backward(tr.grads, tr.Z, tr.A, tr.D1, tr.D2, tr.ws2, X[:33].copy(),
                              Y[:33].copy(), net.params, tr.layout, np.float32(0.01), 0,
                              np.zeros(2))
else:
    print(tr.run(2)[0])
"""


def test_split_kernel_loaded_from_cache_does_not_crash(tmp_path):
    """A cached kernel calling a parallel one segfaulted on load before Numba's pool ran
    (numba #8578): the split Trainer starts the pool first.  Three processes, one cache."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    script = tmp_path / "split_from_cache.py"
    script.write_text(_SPLIT_FROM_CACHE)
    for step in ("callee", "train", "train"):
        r = subprocess.run([sys.executable, str(script), step], env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, (step, r.returncode, r.stderr[-2000:])
    assert r.stdout.strip() == "2"
