"""The compiled network: flat parameter buffer, layout table, workspaces.

This module owns every buffer the kernels touch and is the only place in
:mod:`fastnn` that calls the training kernels.  It knows nothing about
labels, scaling or files (that is :mod:`fastnn.model`).
"""
import time

import numba
import numpy as np

from kernels import train as K

from .threads import blas_threads
from kernels.activations import ACTIVATIONS, IDENTITY
from kernels.dense import ROUTE_BLAS, ROUTE_LOOPS
from kernels.losses import LOSSES
from kernels.optim import OPTIMIZERS

#: A layer goes to BLAS when one batch's matrix product has at least this
#: many multiply-adds; below it the hand-written loops win (BLAS's fixed cost
#: per call dominates).  Measured with ``python -m bench.routes``: loops take
#: 0.3x-0.6x BLAS's time at 64-256 multiply-adds, 1.9x at 2048.
BLAS_MIN_MACS = 1024


#: BLAS runs single-threaded unless some layer's product has at least this
#: many multiply-adds per batch (then a quick calibration at the start of
#: training picks 1 thread or BLAS's default, see Trainer.calibrate):
#: below it a second thread saves nothing
#: (``python -m bench.routes``: 2 threads take 0.8x at 1M, 0.55x at 25M, about
#: 1.0x below, per layer; but whole epochs of a 64-64-64 net at batch 256 (1M)
#: ran 1.6x slower with 2 threads in ``python -m bench --scaling``), and on a
#: busy machine waiting for the second thread can stall each call.
BLAS_THREADS_MIN_MACS = 2_000_000

#: ``auto`` calibrates only where the run is long enough to repay it: an
#: estimated training time (3 x multiply-adds per step x steps, at
#: CALIBRATE_GMACS) of at least CALIBRATE_MIN_SECONDS.
CALIBRATE_MIN_SECONDS = 10.0
CALIBRATE_GMACS = 50.0

#: Execution modes: (BLAS threads, batch split); None = BLAS's default count.
#:
#: serial and blas compute the same bits (OpenBLAS splits a product's rows and
#: columns between threads, never its sums), so ``auto`` chooses between them
#: by timing without changing the model.  split (each half-batch's forward and
#: backward on its own thread with 1-thread BLAS, see kernels.train._halves)
#: sums each gradient as two halves, a different rounding: a fixed seed would
#: give different models depending on which mode a timing picked, so split is
#: never chosen automatically, only asked for.  It pays only when the
#: arithmetic saved beats starting the two threads (about 2.5 us per step with
#: Numba's OpenMP layer here) plus moving the updated parameters and the second
#: half's gradients between the cores every step; ``python -m bench.modes``:
#: W2 (195k multiply-adds per step) serial 20.2 us, split 23.1 (its
#: forward-backward alone took 9.7 us split vs 14.2 serial when the second core
#: was free); W3 (30M) serial 1,636, blas 1,033, split 1,153.  Its kernel
#: variant compiles (about 13 s) on its first use.
MODES = {"serial": (1, False), "blas": (None, False), "split": (1, True)}
MODE_TEXT = {"serial": "one thread does everything",
             "blas": "matrix products on BLAS's threads, the rest on one thread",
             "split": "each batch split in two halves on two threads"}


def choose_blas_threads(batch, sizes):
    """1 for networks whose layers are all small, None (BLAS's default) otherwise."""
    macs = max(batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return None if macs >= BLAS_THREADS_MIN_MACS else 1


def kernels_compiled():
    """True when this process compiled a training or prediction kernel (its
    Numba cache was empty or stale) rather than loading it."""
    return any(sum(f.stats.cache_misses.values()) for f in (K.train_epochs, K.predict_logits))


def candidate_modes(batch, sizes):
    """The execution modes (keys of MODES) that ``auto`` chooses between for this
    network, the shape rule's choice first (used when there is no calibration)."""
    return ["blas", "serial"] if choose_blas_threads(batch, sizes) is None else ["serial"]


def estimated_seconds(batch, sizes, n_rows, epochs):
    """Rough training time of ``epochs`` epochs, for deciding whether to calibrate."""
    step_macs = sum(batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 3 * step_macs * -(-n_rows // batch) * epochs / (CALIBRATE_GMACS * 1e9)


def choose_route(batch, n_in, n_out):
    """The GEMM route for a layer of this shape at this batch size."""
    return ROUTE_BLAS if batch * n_in * n_out >= BLAS_MIN_MACS else ROUTE_LOOPS


def init_scale(init, fan_in, fan_out):
    """Standard deviation of the normal initialisation named ``init``.

    he: variance 2/fan_in (He et al. 2015), for the ReLU family.
    xavier: variance 1/fan_in (LeCun/Xavier "fan-in" form), for sigmoid/tanh.
    glorot: variance 2/(fan_in + fan_out) (Glorot & Bengio 2010).
    """
    if init == "he":
        return np.sqrt(2.0 / fan_in)
    if init == "xavier":
        return np.sqrt(1.0 / fan_in)
    if init == "glorot":
        return np.sqrt(2.0 / (fan_in + fan_out))
    raise ValueError(f"unknown init {init!r}")


class Network:
    """Layer sizes, activations and the flat parameter buffer of an MLP.

    sizes = [n_features, h1, ..., n_out]; ``hidden_act`` names the hidden
    activation; the output layer computes logits (its activation is applied
    by the loss, or by :meth:`predict_logits`' caller).
    """

    def __init__(self, sizes, hidden_act, dtype=np.float32, alpha=0.01):
        self.sizes = [int(s) for s in sizes]
        self.hidden_act = hidden_act
        self.alpha = float(alpha)
        self.dtype = np.dtype(dtype)
        L = len(self.sizes) - 1
        layout = np.zeros((L, K.N_LAYOUT), dtype=np.int64)
        off = unit = 0
        for l in range(L):
            n_in, n_out = self.sizes[l], self.sizes[l + 1]
            layout[l, K.N_IN], layout[l, K.N_OUT] = n_in, n_out
            layout[l, K.W_OFF] = off
            layout[l, K.B_OFF] = off + n_in * n_out
            off += n_in * n_out + n_out
            last = l == L - 1
            layout[l, K.ACT] = IDENTITY if last else ACTIVATIONS[hidden_act]
            layout[l, K.UNIT_OFF] = -1 if last else unit
            unit += 0 if last else n_out
        self.layout = layout
        self.n_params = off
        self.n_hidden_units = unit
        self.params = np.zeros(off, dtype=self.dtype)

    @property
    def n_layers(self):
        return self.layout.shape[0]

    def W(self, l):
        """View of layer l's weights (n_in, n_out) into the flat buffer."""
        n_in, n_out = self.sizes[l], self.sizes[l + 1]
        w0 = self.layout[l, K.W_OFF]
        return self.params[w0:w0 + n_in * n_out].reshape(n_in, n_out)

    def b(self, l):
        """View of layer l's biases (n_out,) into the flat buffer."""
        b0 = self.layout[l, K.B_OFF]
        return self.params[b0:b0 + self.sizes[l + 1]]

    def initialize(self, rng, init):
        """Normal weights with the scale of ``init`` (output layer: xavier), zero biases."""
        self.params[:] = 0
        for l in range(self.n_layers):
            fan_in, fan_out = self.sizes[l], self.sizes[l + 1]
            rule = "xavier" if l == self.n_layers - 1 else init
            self.W(l)[:] = rng.standard_normal((fan_in, fan_out)) * init_scale(rule, fan_in, fan_out)

    # -- workspaces -----------------------------------------------------
    def workspaces(self, bmax, routes=None):
        """Buffers for batches of up to bmax rows: (layout, Z, A, D1, D2).

        The returned layout is a copy with the workspace offsets and each
        layer's GEMM route filled in (``routes`` forces one route for all).
        """
        layout = self.layout.copy()
        widths = self.sizes[1:]
        off = 0
        for l, w in enumerate(widths):
            layout[l, K.WS_OFF] = off
            off += bmax * w
            layout[l, K.ROUTE] = choose_route(bmax, self.sizes[l], w) if routes is None else routes
        Z = np.empty(off, dtype=self.dtype)
        A = np.empty(off, dtype=self.dtype)
        dmax = bmax * max(widths)
        return layout, Z, A, np.empty(dmax, dtype=self.dtype), np.empty(dmax, dtype=self.dtype)

    def predict_logits(self, X, chunk=1024):
        """Logits (N, n_out) for X (N, n_features) of this network's dtype."""
        X = np.ascontiguousarray(X, dtype=self.dtype)
        bmax = max(1, min(chunk, X.shape[0]))
        layout, Z, A, _, _ = self.workspaces(bmax)
        out = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        with blas_threads(choose_blas_threads(bmax, self.sizes)):
            K.predict_logits(out, X, self.params, layout, Z, A, self.alpha, bmax)
        return out


class Trainer:
    """Optimizer state and workspaces for training one :class:`Network`.

    Holds everything a run of :func:`kernels.train.train_epochs` needs, so
    that consecutive calls continue the same run (step count, shuffle state).

    ``mode``: a key of MODES, "rule" (the shape rule's choice, see
    :func:`candidate_modes`) or "auto" (the rule, or a calibration among the
    candidates when there are several, at least 4 batches of data and, when
    ``epochs`` is given, an estimated run of CALIBRATE_MIN_SECONDS or more).
    Arguments are checked (ValueError): this class is the engine's entry
    point for code that bypasses :class:`fastnn.MLP`.
    """

    def __init__(self, net, X, Y, *, loss, optimizer, lr, batch_size, beta1=0.9,
                 beta2=0.999, eps=1e-8, momentum=0.0, nesterov=False, clip_norm=0.0,
                 loss_limit=np.inf, diagnostics=False, shuffle=True, seed=0, routes=None,
                 l2=0.0, mode="auto", epochs=None):
        self.net = net
        self._kw = dict(loss=loss, optimizer=optimizer, lr=lr, batch_size=batch_size,
                        beta1=beta1, beta2=beta2, eps=eps, momentum=momentum,
                        nesterov=nesterov, clip_norm=clip_norm, diagnostics=diagnostics,
                        routes=routes, l2=l2)
        dt = net.dtype
        self.X = np.ascontiguousarray(X, dtype=dt)
        self.Y = np.ascontiguousarray(Y, dtype=dt)
        self._check(mode, batch_size)
        n = len(self.X)
        self.batch = bmax = int(min(batch_size, n))
        if mode in ("auto", "rule"):
            modes = candidate_modes(bmax, net.sizes)
            calibrate = (mode == "auto" and len(modes) > 1 and n >= 4 * bmax and (
                epochs is None
                or estimated_seconds(bmax, net.sizes, n, epochs) >= CALIBRATE_MIN_SECONDS))
            mode = self.calibrate(modes) if calibrate else modes[0]
        self.mode = mode
        self.blas_threads, split = MODES[mode]
        if split:
            # Start Numba's thread pool before the first call: a cached kernel that
            # calls a parallel one segfaults on load when the pool is not running yet
            # (numba issues #8578, #9938).
            numba.get_num_threads()
        self.grads = np.zeros(net.n_params, dtype=dt)
        self.opt_a = np.zeros(net.n_params, dtype=dt)
        self.opt_b = np.zeros(net.n_params, dtype=dt)
        self.perm = np.arange(n, dtype=np.int64)
        # the multiply wraps modulo 2**64 on purpose; Python ints avoid NumPy's overflow warning
        self.rng = np.array([(int(seed) * 0x2545F4914F6CDD1D + 1) % 2**64], dtype=np.uint64)
        self.layout, self.Z, self.A, self.D1, self.D2 = net.workspaces(bmax, routes)
        self.xb = np.empty(bmax * net.sizes[0], dtype=dt)
        self.yb = np.empty(bmax * net.sizes[-1], dtype=dt)
        self.hp = np.zeros(K.N_HP, dtype=np.float64)
        self.hp[[K.LR, K.BETA1, K.BETA2, K.EPS, K.MOMENTUM, K.NESTEROV, K.CLIP, K.ALPHA,
                 K.LOSS_LIMIT, K.L2]] = [lr, beta1, beta2, eps, momentum, float(nesterov),
                                         clip_norm or 0.0, net.alpha, loss_limit, l2]
        self.ip = np.zeros(K.N_IP, dtype=np.int64)
        self.ip[[K.OPT, K.LOSS, K.BATCH, K.DIAG, K.STEP, K.SHUFFLE]] = [
            OPTIMIZERS[optimizer], LOSSES[loss], bmax, int(diagnostics), 0, int(shuffle)]
        self.ws2 = (np.empty(K.split_workspace_size(net.n_params, len(self.Z), len(self.D1)),
                             dtype=dt) if split else None)

    def _check(self, mode, batch_size):
        net, X, Y = self.net, self.X, self.Y
        if mode not in ("auto", "rule", *MODES):
            raise ValueError(f"mode {mode!r}: expected auto, rule or one of {', '.join(MODES)}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size {batch_size}: expected an integer >= 1")
        if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] != net.sizes[0]:
            raise ValueError(f"X has shape {X.shape}: expected (rows >= 1, {net.sizes[0]})")
        if Y.ndim == 1:
            self.Y = Y = Y.reshape(-1, 1)
        if Y.shape != (X.shape[0], net.sizes[-1]):
            raise ValueError(f"Y has shape {Y.shape}: expected ({X.shape[0]}, {net.sizes[-1]})")
        if not (np.isfinite(X).all() and np.isfinite(Y).all()):
            raise ValueError("X and Y must be finite (a NaN input passes a ReLU as 0 and "
                             "poisons the weights without changing the loss)")

    def calibrate(self, modes, n_batches=32, seconds=0.15, rounds=2):
        """The fastest of ``modes`` (keys of MODES) on this machine now.

        Each mode trains on up to ``n_batches`` shuffled batches of the data
        for about ``seconds`` per round, alternating, because a short burst can
        mislead: on a shared or throttled machine a second thread may be fast
        for a few milliseconds and slower than one thread over longer runs.
        Each round starts with one untimed epoch, so the thread pool of the
        mode timed before (still spinning for a while after its last call)
        does not count against this one.  Runs on a copy of the network: the
        model is not changed.  ``self.calibration`` keeps the choice, the
        sample's size and each mode's µs per training step on it."""
        rows = min(len(self.X), n_batches * self.batch)
        copy = Network(self.net.sizes, self.net.hidden_act, self.net.dtype, self.net.alpha)
        copy.params[:] = self.net.params
        trainers = {m: Trainer(copy, self.X[:rows], self.Y[:rows], shuffle=True, mode=m,
                               **self._kw) for m in modes}
        rate = {m: 0.0 for m in trainers}
        for tr in trainers.values():
            tr.run(1)                                   # warm-up (and compilation)
        for _ in range(rounds):
            for m, tr in trainers.items():
                tr.run(1)                               # untimed: the switch from the last mode
                t0, n = time.perf_counter(), 0
                while time.perf_counter() - t0 < seconds:
                    if tr.run(1)[0] < 1:                # the sample diverged: rates mean nothing
                        self.calibration = dict(mode=modes[0], sample_rows=rows, diverged=True,
                                                us_per_step={})
                        return modes[0]
                    n += 1
                rate[m] += n / (time.perf_counter() - t0)
        best = max(rate, key=rate.get)
        steps = -(-rows // self.batch)
        self.calibration = dict(mode=best, sample_rows=rows, us_per_step={
            m: 1e6 * rounds / (v * steps) for m, v in rate.items()})
        return best

    @property
    def lr(self):
        return self.hp[K.LR]

    @lr.setter
    def lr(self, value):
        self.hp[K.LR] = value

    @property
    def loss_limit(self):
        return self.hp[K.LOSS_LIMIT]

    @loss_limit.setter
    def loss_limit(self, value):
        self.hp[K.LOSS_LIMIT] = value

    def state(self):
        """A copy of everything an update changes (for rollback)."""
        return (self.net.params.copy(), self.opt_a.copy(), self.opt_b.copy(), self.ip[K.STEP])

    def restore(self, state):
        params, a, b, step = state
        self.net.params[:] = params
        self.opt_a[:] = a
        self.opt_b[:] = b
        self.ip[K.STEP] = step

    def run(self, n_epochs=1):
        """Train n_epochs epochs in one compiled call.

        Returns (epochs completed, epoch_out, layer_out, alive) with the
        arrays of :func:`kernels.train.train_epochs`, one row per epoch run.
        """
        net = self.net
        epoch_out = np.zeros((n_epochs, K.N_EPOCH_OUT))
        layer_out = np.zeros((n_epochs, net.n_layers, K.N_LAYER_OUT))
        alive = np.zeros((n_epochs, max(net.n_hidden_units, 1)), dtype=np.uint8)
        with blas_threads(self.blas_threads):
            done = K.train_epochs(net.params, self.grads, self.opt_a, self.opt_b, self.X,
                                  self.Y, self.perm, self.rng, self.layout, self.hp, self.ip,
                                  self.Z, self.A, self.D1, self.D2, self.xb, self.yb,
                                  self.ws2, epoch_out, layer_out, alive, n_epochs)
        return done, epoch_out, layer_out, alive
