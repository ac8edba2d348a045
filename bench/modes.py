"""The engine's execution modes side by side: ``python -m bench.modes [W2 W3 W4]``.

For each workload, trains with each mode of ``fastnn.network.MODES`` (serial
with 1-thread BLAS, serial with BLAS's default thread count, the batch split
across two threads each with 1-thread BLAS) for about a second per mode per
round, alternating over 3 rounds, and prints the best µs per step of each.
On this project's VM the winner changed with the workload and over the day
(a second core is not always there to take), which is why the engine
calibrates the mode at the start of training rather than fixing it.
"""
import sys
import time

import numpy as np

from fastnn.network import MODES, Network, Trainer

from .workloads import WORKLOADS, encode_targets, make_data


def main(names):
    for name in names or ["W2", "W3"]:
        wl = WORKLOADS[name]
        X, y = make_data(wl)
        Y = encode_targets(wl, y)
        trainers = {}
        for mode in MODES:
            net = Network(wl.sizes, wl.act, dtype=np.float32)
            net.initialize(np.random.default_rng(0), "he")
            trainers[mode] = Trainer(net, X, Y, loss=wl.loss, optimizer="adam", lr=1e-3,
                                     batch_size=wl.batch, mode=mode)
            trainers[mode].run(1)                            # compile, warm up
        steps = -(-len(X) // wl.batch)
        best = dict.fromkeys(MODES, float("inf"))
        for _ in range(3):
            for mode, tr in trainers.items():
                t, n = time.perf_counter(), 0
                while time.perf_counter() - t < 1.0:
                    tr.run(1)
                    n += 1
                best[mode] = min(best[mode], (time.perf_counter() - t) / (n * steps) * 1e6)
        line = "  ".join(f"{m} {v:,.1f}" for m, v in best.items())
        print(f"{name} ({'-'.join(map(str, wl.sizes))}, batch {wl.batch}) us/step: {line}")


if __name__ == "__main__":
    main(sys.argv[1:])
