"""Correctness check and timing of one implementation on one workload."""

import statistics
import time

import numpy as np

# A first Adam step moves every parameter with a non-zero gradient by about lr = 1e-3, so a
# difference above lr / 10 means that parameter took a different step, not just a rounded one.
TOLERANCE = 1e-4
# ... but float32 legitimately does that to a few parameters: a relu pre-activation within
# float32 rounding of 0 (W4 has some at ~3e-7) can take the other side in one impl, which
# adds or drops one sample's term in that unit's weight gradients and can flip the sign of the
# small ones, i.e. their first Adam step (a 2 * lr difference). A real bug (wrong formula,
# layer, sign or update rule) moves far more, so each tensor may have at most this fraction of
# its entries over TOLERANCE (zero for tensors under 1000 entries).
MAX_FRACTION_OFF = 1e-3


def compare(got, ref):
    """Max |got - ref| and the count over TOLERANCE; ``ok`` applies the per-tensor rule.

    Raises on a length or shape mismatch.
    """
    if len(got) != len(ref):
        raise ValueError(f"one_step returned {len(got)} layers, expected {len(ref)}")
    worst, n_off, n_params, ok = 0.0, 0, 0, True
    for i, ((W, b), (W0, b0)) in enumerate(zip(got, ref)):
        W, b = np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64).reshape(-1)
        if W.shape != W0.shape or b.shape != b0.shape:
            raise ValueError(f"layer {i}: one_step returned W {W.shape}, b {b.shape}; "
                             f"expected {W0.shape}, {b0.shape}")
        for d in (np.abs(W - W0), np.abs(b - b0)):
            if not np.isfinite(d).all():
                return {"max_abs_diff": float("inf"), "n_off": -1, "n_params": -1, "ok": False}
            off = int((d > TOLERANCE).sum())
            worst, n_off, n_params = max(worst, float(d.max())), n_off + off, n_params + d.size
            ok = ok and off <= int(MAX_FRACTION_OFF * d.size)
    return {"max_abs_diff": worst, "n_off": n_off, "n_params": n_params, "ok": ok}


def max_abs_diff(got, ref):
    """Largest |got - ref| over all parameters."""
    return compare(got, ref)["max_abs_diff"]


def time_steps(impl, repeats, target_s):
    """Warm up, size a repeat to about ``target_s`` seconds, then time ``repeats`` repeats.

    Returns a list of seconds per step, one per repeat, and the steps per repeat. The warm-up
    (which pays for compilation and first-call costs) and the sizing runs are never reported.
    """
    impl.run_steps(2)  # warm-up: compilation, thread pools, first-touch of buffers
    n = 1
    while True:  # sizing run, doubles as a second warm-up
        t0 = time.perf_counter()
        k = impl.run_steps(n)
        dt = time.perf_counter() - t0
        if dt >= min(0.05, target_s / 4) or n >= 1 << 20:
            break
        n *= 4
    per_step = dt / max(k, 1)
    n = max(1, int(round(target_s / per_step)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        k = impl.run_steps(n)
        times.append((time.perf_counter() - t0) / max(k, 1))
    return times, n


def summarize(times, wl, ceiling_gflops=None):
    """Median/min us per step and throughput; ``pct_ceiling`` only when the ceiling is given."""
    med, best = statistics.median(times), min(times)
    gflops = wl.flops_per_step / med / 1e9
    out = {"median_us": med * 1e6, "min_us": best * 1e6,
           "times_us": [t * 1e6 for t in times],
           "samples_per_s": wl.batch / med, "gflops": gflops,
           "gflops_best": wl.flops_per_step / best / 1e9}
    if ceiling_gflops:
        out["pct_ceiling"] = 100.0 * gflops / ceiling_gflops
    return out
