"""Whole-epoch training and batched inference, each in one compiled call.

A network of L dense layers is described by ``layout``, an int64 array
(L, N_LAYOUT) with one row per layer (columns below); its parameters live in
one flat buffer ``params`` where layer l's W is
``params[W_OFF : W_OFF + n_in*n_out].reshape(n_in, n_out)`` and b follows at
``B_OFF``.  ``grads`` and the optimizer state ``opt_a``/``opt_b`` (SGD:
velocity/unused; Adam: m/v) have the same length.

Workspaces are flat buffers sized for the largest batch ``Bmax``: ``Z`` and
``A`` hold every layer's pre-activation and activation (layer l at row offset
``WS_OFF``), ``D1``/``D2`` are the ping-pong error buffers, ``xb``/``yb`` the
gathered batch.  Nothing is allocated per batch.

The output layer's activation column must be IDENTITY during training: the
loss kernel consumes logits and returns p - y directly.
"""
import math

import numpy as np
from numba import njit, prange

from .activations import activation_backward, activation_stats
from .config import JIT
from .dense import dense_backward, dense_forward
from .losses import loss_forward
from .optim import (ADAM, adam_apply, adam_scalars_pow, add_scaled_, clip_by_global_norm, sgd_update,
                    sum_squares)
from .rng import shuffle_
from .views import view1, view2

# layout columns
N_IN, N_OUT, W_OFF, B_OFF, ACT, ROUTE, WS_OFF, UNIT_OFF = range(8)
N_LAYOUT = 8

# hp (float64) entries
LR, BETA1, BETA2, EPS, MOMENTUM, NESTEROV, CLIP, ALPHA, LOSS_LIMIT, L2 = range(10)
N_HP = 10

# ip (int64) entries; STEP is read and advanced by train_epochs
OPT, LOSS, BATCH, DIAG, STEP, SHUFFLE = range(6)
N_IP = 6

# per-epoch results, epoch_out (n_epochs, N_EPOCH_OUT)
E_LOSS_SUM, E_SEEN, E_STEPS, E_CLIPPED, E_DIVERGED, E_BAD_LOSS = range(6)
N_EPOCH_OUT = 6

# per-epoch, per-layer results, layer_out (n_epochs, L, N_LAYER_OUT)
L_GW2, L_GB2, L_SAT = range(3)
N_LAYER_OUT = 3


@njit(**JIT)
def forward_batch(Z, A, x, params, layout, alpha, Bmax):
    """Forward pass of one batch x (B, n_features) through every layer.

    Writes each layer's z and a into Z/A; returns nothing.  The last layer's
    logits are ``view2(Z, layout[L-1, WS_OFF], B, n_out)``.
    """
    B = x.shape[0]
    L = layout.shape[0]
    inp = x
    for l in range(L):
        n_in, n_out = layout[l, N_IN], layout[l, N_OUT]
        W = view2(params, layout[l, W_OFF], n_in, n_out)
        b = view1(params, layout[l, B_OFF], n_out)
        z = view2(Z, layout[l, WS_OFF], B, n_out)
        a = view2(A, layout[l, WS_OFF], B, n_out)
        dense_forward(z, a, inp, W, b, layout[l, ACT], alpha, layout[l, ROUTE])
        inp = a


@njit(**JIT)
def backward_batch(grads, D1, D2, Z, A, x, params, layout, alpha):
    """Backward pass of one batch whose output error is already in D1.

    grads is overwritten with the batch-mean gradient of every layer.
    """
    B = x.shape[0]
    L = layout.shape[0]
    # din holds the error at this layer's output: dz for the last layer (from the
    # loss), da for a hidden one.  A hidden layer's dz goes into the other buffer,
    # never in place: an in-place select (dz = da where a > 0) defeats vectorisation
    # and costs a branch misprediction per element (30x slower on random signs).
    din, dout = D1, D2
    for l in range(L - 1, -1, -1):
        n_in, n_out = layout[l, N_IN], layout[l, N_OUT]
        W = view2(params, layout[l, W_OFF], n_in, n_out)
        dW = view2(grads, layout[l, W_OFF], n_in, n_out)
        db = view1(grads, layout[l, B_OFF], n_out)
        if l < L - 1:
            z = view2(Z, layout[l, WS_OFF], B, n_out)
            a = view2(A, layout[l, WS_OFF], B, n_out)
            dz = view2(dout, 0, B, n_out)
            activation_backward(dz, view2(din, 0, B, n_out), a, z, layout[l, ACT], alpha)
            din, dout = dout, din            # dz now in din; dout is free for dinp
        else:
            dz = view2(din, 0, B, n_out)
        if l > 0:
            inp = view2(A, layout[l - 1, WS_OFF], B, n_in)
        else:
            inp = x
        dinp = view2(dout, 0, B, n_in if l > 0 else 0)
        dense_backward(dinp, dW, db, dz, inp, W, layout[l, ROUTE], False, l > 0)
        din, dout = dout, din                # the next layer's da is this dinp


@njit(**JIT)
def _update(params, opt_a, opt_b, grads, hp, ip, l2, n_l2, step, eps_hat):
    """The optimizer step ip[OPT] over these (segments of the) buffers; returns
    the pair of sums of g^2 (see :func:`kernels.optim.sgd_update`).

    step/eps_hat: Adam's bias-corrected scalars for this step (computed once per
    step, not once per segment)."""
    if ip[OPT] == ADAM:
        return adam_apply(params, opt_a, opt_b, grads, step, eps_hat, hp[BETA1], hp[BETA2], l2,
                          n_l2)
    return sgd_update(params, opt_a, grads, hp[LR], hp[MOMENTUM], hp[NESTEROV] != 0.0, l2, n_l2)


@njit(**JIT)
def _forward_backward(grads, Z, A, D1, D2, x, y, params, layout, alpha, loss, scale):
    """Forward, loss and output error (scaled by ``scale``), backward of the rows
    x/y; grads overwritten.  Returns the summed loss of these rows."""
    L = layout.shape[0]
    B = x.shape[0]
    n_out = layout[L - 1, N_OUT]
    forward_batch(Z, A, x, params, layout, alpha, B)
    # np.bool_, not the literal True: a literal compiles a second loss_forward beside the
    # one Python callers (fastnn.metrics) use, about a second of every cold start
    batch_loss = loss_forward(view2(D1, 0, B, n_out), view2(Z, layout[L - 1, WS_OFF], B, n_out),
                              y, loss, scale, np.bool_(True))
    backward_batch(grads, D1, D2, Z, A, x, params, layout, alpha)
    return batch_loss


def split_workspace_size(n_params, n_ws, n_d):
    """Length of the second thread's flat workspace ``ws2`` of train_epochs:
    its own grads, Z, A (n_ws each), D1, D2 (n_d each)."""
    return n_params + 2 * n_ws + 2 * n_d


@njit(**JIT)
def _ws2_parts(ws2, n_params, n_ws, n_d):
    """(grads, Z, A, D1, D2) of the second half-batch, views into ws2."""
    z0 = n_params
    a0 = z0 + n_ws
    d0 = a0 + n_ws
    return (ws2[:n_params], ws2[z0:a0], ws2[a0:d0], ws2[d0:d0 + n_d],
            ws2[d0 + n_d:d0 + 2 * n_d])


@njit(parallel=True, **JIT)
def _halves(grads, Z, A, D1, D2, ws2, x, y, params, layout, alpha, loss, scale, losses):
    """_forward_backward of the two halves of a batch (rows [0, h) and [h, B),
    h = ceil(B/2)) at once, one per thread: the first into grads and the
    workspaces Z..D2, the second into its own (views of ws2).  The halves are
    fixed by B, not by the thread count, so 1 and 2 threads compute the same
    numbers; losses[0], losses[1] get each half's summed loss."""
    B = x.shape[0]
    h = (B + 1) // 2
    for c in prange(2):
        if c == 0:
            losses[0] = _forward_backward(grads, Z, A, D1, D2, x[:h], y[:h], params, layout,
                                          alpha, loss, scale)
        else:
            g2, Z2, A2, D12, D22 = _ws2_parts(ws2, params.shape[0], Z.shape[0], D1.shape[0])
            losses[1] = _forward_backward(g2, Z2, A2, D12, D22, x[h:], y[h:], params, layout,
                                          alpha, loss, scale)


@njit(**JIT)
def _split_forward_backward(grads, Z, A, D1, D2, ws2, x, y, params, layout, alpha, loss,
                            losses):
    """Gradient of the batch x/y into grads, as two halves on two threads when
    it has 2+ rows (the halves' gradients summed, first + second); returns
    the summed loss."""
    B = x.shape[0]
    if B < 2:
        return _forward_backward(grads, Z, A, D1, D2, x, y, params, layout, alpha, loss, 1.0 / B)
    _halves(grads, Z, A, D1, D2, ws2, x, y, params, layout, alpha, loss, 1.0 / B, losses)
    add_scaled_(grads, _ws2_parts(ws2, params.shape[0], Z.shape[0], D1.shape[0])[0], 1.0)
    return losses[0] + losses[1]


@njit(**JIT)
def _activation_stats(alive, layer_sat, A, layout, r0, r1):
    """Dead/saturated-unit statistics of every hidden layer for rows [r0, r1) of A."""
    for l in range(layout.shape[0] - 1):
        n = layout[l, N_OUT]
        a = view2(A, layout[l, WS_OFF] + r0 * n, r1 - r0, n)
        u0 = layout[l, UNIT_OFF]
        layer_sat[l] += activation_stats(alive[u0:u0 + n], a, layout[l, ACT])


@njit(**JIT)
def _split_activation_stats(alive, layer_sat, A, A2, layout, B):
    """_activation_stats of a batch trained by _split_forward_backward (A2: the
    second half's activations)."""
    if B < 2:
        _activation_stats(alive, layer_sat, A, layout, 0, B)
        return
    h = (B + 1) // 2
    _activation_stats(alive, layer_sat, A, layout, 0, h)
    _activation_stats(alive, layer_sat, A2, layout, 0, B - h)


@njit(**JIT)
def train_epochs(params, grads, opt_a, opt_b, X, Y, perm, rng, layout, hp, ip,
                 Z, A, D1, D2, xb, yb, ws2, epoch_out, layer_out, alive, n_epochs):
    """Run up to n_epochs epochs of mini-batch training, in place.

    X (N, n_features), Y (N, n_out) targets in the loss's encoding; perm (N,)
    int64 row order, reshuffled at each epoch start when ip[SHUFFLE]; rng the
    shuffle state.  Each step: gather batch, forward, loss and error,
    backward, L2 penalty hp[L2] * W added to the weight gradients (not the
    biases; the reported loss excludes the penalty), per-layer gradient norms,
    clipping by global norm
    (hp[CLIP] > 0), optimizer update.

    Outputs, overwritten for each epoch run: epoch_out[e] (loss sum, samples
    seen, steps, steps clipped, diverged flag, the batch loss that diverged),
    layer_out[e, l] (summed over steps: squared norm of dW, of db, and, when
    ip[DIAG], the count of saturated outputs), and alive[e] (hidden unit ever
    non-zero, only when ip[DIAG]).

    ws2 None: one thread (plus BLAS's).  ws2 an array (sized by
    :func:`split_workspace_size`, the second half's buffers): batches of two
    or more rows run as two halves on two threads (:func:`_halves`) and
    their gradients are summed in a fixed order.

    A batch whose mean loss is not finite or exceeds hp[LOSS_LIMIT] stops
    training before its update is applied (diverged flag set); the function
    returns the number of epochs completed.
    """
    N, n_features = X.shape
    L = layout.shape[0]
    n_out = layout[L - 1, N_OUT]
    Bmax = ip[BATCH]
    as_t = params.dtype.type
    alpha = as_t(hp[ALPHA])
    l2 = hp[L2]
    diag = ip[DIAG] != 0
    beta1_t, beta2_t = hp[BETA1] ** ip[STEP], hp[BETA2] ** ip[STEP]   # advanced every step
    half_losses = np.zeros(2)
    for e in range(n_epochs):
        for k in range(N_EPOCH_OUT):       # loops, not slice assignments (no slice objects)
            epoch_out[e, k] = 0.0
        for l in range(L):
            for k in range(N_LAYER_OUT):
                layer_out[e, l, k] = 0.0
        if diag:
            alive[e, :] = 0
        if ip[SHUFFLE] != 0:
            shuffle_(perm, rng)
        for lo in range(0, N, Bmax):
            B = min(Bmax, N - lo)
            x = view2(xb, 0, B, n_features)
            y = view2(yb, 0, B, n_out)
            for r in range(B):            # explicit loops: no slice objects per row
                src = perm[lo + r]
                for c in range(n_features):
                    x[r, c] = X[src, c]
                for c in range(n_out):
                    y[r, c] = Y[src, c]
            # ``ws2 is None`` is decided when Numba compiles (dead-branch pruning on
            # the argument's type): the serial specialisation never compiles _halves
            if ws2 is None:
                batch_loss = _forward_backward(grads, Z, A, D1, D2, x, y, params, layout, alpha,
                                               ip[LOSS], 1.0 / B)
            else:
                batch_loss = _split_forward_backward(grads, Z, A, D1, D2, ws2, x, y, params,
                                                     layout, alpha, ip[LOSS], half_losses)
            mean_loss = batch_loss / B
            if not math.isfinite(mean_loss) or mean_loss > hp[LOSS_LIMIT]:
                epoch_out[e, E_DIVERGED] = 1.0
                epoch_out[e, E_BAD_LOSS] = mean_loss
                return e
            epoch_out[e, E_LOSS_SUM] += batch_loss
            epoch_out[e, E_SEEN] += B
            epoch_out[e, E_STEPS] += 1
            if diag:
                if ws2 is None:
                    _activation_stats(alive[e], layer_out[e, :, L_SAT], A, layout, 0, B)
                else:
                    A2 = _ws2_parts(ws2, params.shape[0], Z.shape[0], D1.shape[0])[2]
                    _split_activation_stats(alive[e], layer_out[e, :, L_SAT], A, A2, layout, B)
            ip[STEP] += 1
            beta1_t *= hp[BETA1]
            beta2_t *= hp[BETA2]
            step, eps_hat = adam_scalars_pow(hp[LR], hp[EPS], beta1_t, beta2_t)
            if hp[CLIP] > 0.0:
                # clipping needs the global norm before any update: one extra pass
                total2 = 0.0
                for l in range(L):
                    w0, b0 = layout[l, W_OFF], layout[l, B_OFF]
                    if l2 != 0.0:
                        add_scaled_(grads[w0:b0], params[w0:b0], l2)
                    gw2 = sum_squares(grads[w0:b0])
                    gb2 = sum_squares(grads[b0:b0 + layout[l, N_OUT]])
                    total2 += gw2 + gb2
                    layer_out[e, l, L_GW2] += gw2
                    layer_out[e, l, L_GB2] += gb2
                if clip_by_global_norm(grads, hp[CLIP], math.sqrt(total2)):
                    epoch_out[e, E_CLIPPED] += 1
                _update(params, opt_a, opt_b, grads, hp, ip, 0.0, np.int64(-1), step, eps_hat)
            else:
                # no clipping: the update computes each layer's norms as it goes, one
                # pass over the layer's weights and biases (contiguous in the buffer)
                for l in range(L):
                    w0, b0 = layout[l, W_OFF], layout[l, B_OFF]
                    b1 = b0 + layout[l, N_OUT]
                    n = b1 - w0
                    gw2, gb2 = _update(view1(params, w0, n), view1(opt_a, w0, n),
                                       view1(opt_b, w0, n), view1(grads, w0, n), hp, ip, l2,
                                       b0 - w0, step, eps_hat)
                    layer_out[e, l, L_GW2] += gw2
                    layer_out[e, l, L_GB2] += gb2
    return n_epochs


@njit(**JIT)
def predict_logits(out, X, params, layout, Z, A, alpha, Bmax):
    """out (N, n_out) = logits of the network for every row of X (N, n_features).

    Rows are processed in chunks of Bmax through the workspaces Z/A; only
    the last layer's logits are kept.
    """
    N = X.shape[0]
    L = layout.shape[0]
    n_out = layout[L - 1, N_OUT]
    alpha = params.dtype.type(alpha)
    for lo in range(0, N, Bmax):
        B = min(Bmax, N - lo)
        forward_batch(Z, A, X[lo:lo + B], params, layout, alpha, Bmax)
        out[lo:lo + B, :] = view2(Z, layout[L - 1, WS_OFF], B, n_out)
