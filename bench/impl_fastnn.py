"""fastnn's own engine behind the bench protocol (see bench/impls.py).

It drives :class:`fastnn.network.Trainer` directly: one compiled call runs
whole epochs (shuffle, every batch, forward, backward, Adam), several epochs
per call for tiny problems, so no Python runs per batch.
"""
import numpy as np

from fastnn.network import Network, Trainer

from .workloads import encode_targets


class FastnnImpl:
    name = "fastnn"
    note = "float32, whole epochs per compiled call, routes chosen by layer shape"
    # __init__ appends the execution mode the Trainer chose (and its calibration)

    @staticmethod
    def available():
        return True

    def __init__(self, wl, X, Y, params, threads):
        self.wl = wl
        self.params = [(np.array(W, np.float32), np.array(b, np.float32)) for W, b in params]
        self.X = np.ascontiguousarray(X, np.float32)
        self.Y = self._encode(Y)
        self.trainer = self._trainer(self.X, self.Y, shuffle=True)
        self.steps_per_epoch = -(-len(self.X) // wl.batch)
        cal = getattr(self.trainer, "calibration", None)
        self.note = f"{self.note}; mode {self.trainer.mode}" + (
            " (calibrated, us/step on a sample: " + ", ".join(
                f"{m} {us:.1f}" for m, us in cal["us_per_step"].items()) + ")" if cal else "")

    def _encode(self, Y):
        return encode_targets(self.wl, np.asarray(Y).astype(np.int64))

    def _trainer(self, X, Y, shuffle, batch=None):
        net = Network(self.wl.sizes, self.wl.act, dtype=np.float32)
        for l, (W, b) in enumerate(self.params):
            net.W(l)[:] = W
            net.b(l)[:] = b
        return Trainer(net, X, Y, loss=self.wl.loss, optimizer="adam", lr=1e-3,
                       batch_size=batch or self.wl.batch, shuffle=shuffle, seed=0)

    def one_step(self, xb, yb):
        tr = self._trainer(np.ascontiguousarray(xb, np.float32), self._encode(yb),
                           shuffle=False, batch=len(xb))
        tr.run(1)
        net = tr.net
        return [(net.W(l).astype(np.float64), net.b(l).astype(np.float64))
                for l in range(net.n_layers)]

    def run_steps(self, n):
        epochs = max(1, -(-n // self.steps_per_epoch))
        self.trainer.run(epochs)
        return epochs * self.steps_per_epoch
