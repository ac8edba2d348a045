"""Cost of training diagnostics (dead/saturated unit statistics) in the compiled path.

``python -m bench.diag_overhead`` times whole epochs of the fastnn engine with
diagnostics off and on, interleaved, on the W2 and W3 workloads, and prints the
ratio of medians (issue target: at most ~1.10).
"""
import sys
import time

import numpy as np

from fastnn.network import Network, Trainer

from .workloads import WORKLOADS, encode_targets, make_data


def time_epochs(wl, diagnostics, X, Y, repeats):
    net = Network(wl.sizes, wl.act, dtype=np.float32)
    net.initialize(np.random.default_rng(0), "he")
    tr = Trainer(net, X, Y, loss=wl.loss, optimizer="adam", lr=1e-3, batch_size=wl.batch,
                 diagnostics=diagnostics)
    tr.run(1)                                   # warm-up (compilation never timed)
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        tr.run(1)
        out.append(time.perf_counter() - t)
    return out


def main(argv=None):
    names = (argv or sys.argv[1:]) or ["W2", "W3"]
    for name in names:
        wl = WORKLOADS[name]
        X, y = make_data(wl)
        Y = encode_targets(wl, y)
        off, on = [], []
        for _ in range(3):                      # interleave to share the machine's noise
            off += time_epochs(wl, False, X, Y, 2)
            on += time_epochs(wl, True, X, Y, 2)
        r = np.median(on) / np.median(off)
        print(f"{name}: epoch median {np.median(off) * 1e3:.1f} ms without diagnostics, "
              f"{np.median(on) * 1e3:.1f} ms with: ratio {r:.3f}")


if __name__ == "__main__":
    main()
