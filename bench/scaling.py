"""Scaling table: time per epoch of one impl as width, depth, batch and samples each double.

Base: 64 inputs, ``depth`` hidden relu layers of ``width`` units, 10-class softmax CE,
width 64, depth 2, batch 64, 8192 samples; each of the four is doubled ``doublings`` times
while the others stay at the base. One epoch = samples // batch Adam steps with a shuffle.
"""

import statistics
import time

import click

from .report import write_json, write_text
from .workloads import Workload, init_params, make_data

BASE = {"width": 64, "depth": 2, "batch": 64, "samples": 8192}
N_IN, N_OUT = 64, 10


def _workload(width, depth, batch, samples):
    sizes = (N_IN,) + (width,) * depth + (N_OUT,)
    return Workload(f"S-w{width}-d{depth}-b{batch}-n{samples}", sizes, "relu", "softmax_ce",
                    samples, batch)


def configs(doublings=3):
    """(varied dimension, parameters) pairs: the base, then each dimension doubled."""
    out = [("base", dict(BASE))]
    for dim in ("width", "depth", "batch", "samples"):
        for k in range(1, doublings + 1):
            out.append((dim, {**BASE, dim: BASE[dim] * 2 ** k}))
    return out


def _time_epochs(impl, wl, repeats):
    impl.run_steps(2)  # warm-up, compilation never timed
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        k = impl.run_steps(wl.steps_per_epoch)
        times.append(time.perf_counter() - t0)
    return times, k


def run_scaling(impl=None, threads=None, quick=False, doublings=3, json_path=None,
                markdown_path=None, echo=click.echo):
    """Print (and write) the scaling table; returns the list of row dicts."""
    import os

    from .impls import FASTNN_NOTE, IMPLS
    from .run import _thread_limits

    if impl is None:
        impl = "fastnn" if "fastnn" in IMPLS else "numpy"
        if FASTNN_NOTE:
            click.echo(FASTNN_NOTE + "; scaling uses numpy", err=True)
    if impl not in IMPLS or not IMPLS[impl].available():
        raise click.UsageError(f"--scaling-impl: {impl!r} is not available; choose from "
                               f"{', '.join(n for n in IMPLS if IMPLS[n].available())}")
    threads = threads or len(os.sched_getaffinity(0))
    repeats = 2 if quick else 3
    rows, base_time, base_flops = [], None, None
    with _thread_limits(threads):
        for dim, p in configs(doublings):
            wl = _workload(**p)
            X, Y = make_data(wl)
            obj = IMPLS[impl](wl, X, Y, init_params(wl), threads)
            times, steps = _time_epochs(obj, wl, repeats)
            med = statistics.median(times)
            flops = wl.flops_per_step * steps
            base_time = base_time or med
            base_flops = base_flops or flops
            rows.append({"varied": dim, **p, "steps_per_epoch": steps,
                         "ms_per_epoch": med * 1e3, "ms_per_epoch_min": min(times) * 1e3,
                         "us_per_step": med / steps * 1e6, "gflops": flops / med / 1e9,
                         "time_x": med / base_time, "flops_x": flops / base_flops})
            click.echo(f"  {dim:<7} {wl.describe()}: {med * 1e3:.1f} ms/epoch", err=True)
    md = markdown(rows, impl, threads, repeats)
    echo(md)
    if json_path:
        write_json(json_path, {"impl": impl, "threads": threads, "repeats": repeats,
                               "base": BASE, "rows": rows})
    if markdown_path:
        write_text(markdown_path, md)
    return rows


def markdown(rows, impl, threads, repeats):
    cols = ["varied", "width", "depth", "batch", "samples", "steps/epoch", "ms/epoch (median)",
            "ms/epoch (min)", "us/step", "GFLOP/s", "time x base", "FLOPs x base"]
    lines = [f"Scaling of `{impl}` ({threads} threads, median of {repeats} epochs); "
             f"input {N_IN}, {N_OUT}-class softmax CE, relu, Adam.", "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join([
            r["varied"], str(r["width"]), str(r["depth"]), str(r["batch"]), str(r["samples"]),
            str(r["steps_per_epoch"]), f"{r['ms_per_epoch']:.2f}", f"{r['ms_per_epoch_min']:.2f}",
            f"{r['us_per_step']:.1f}", f"{r['gflops']:.2f}", f"{r['time_x']:.2f}",
            f"{r['flops_x']:.2f}"]) + " |")
    return "\n".join(lines) + "\n"
