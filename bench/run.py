"""``python -m bench``: correctness, then timing, of every impl on every workload.

``run(argv)`` parses ``argv`` like the command line (for ``fastnn bench``);
``run_bench(...)`` is the same without parsing and returns the JSON payload.
"""

import contextlib
import dataclasses
import os
import sys

import click

from . import env as envmod
from .ceiling import sgemm_ceiling
from .report import FLOP_FORMULA, format_line, markdown_table, write_json, write_text
from .timing import MAX_FRACTION_OFF, TOLERANCE, compare, summarize, time_steps
from .workloads import QUICK_WORKLOADS, WORKLOADS, first_batch, init_params, make_data

HERE = os.path.dirname(os.path.abspath(__file__))
FULL = {"repeats": 7, "target_s": 0.5, "ceiling_repeats": 5}
QUICK = {"repeats": 3, "target_s": 0.15, "ceiling_repeats": 3}


def _progress(msg):
    click.echo(msg, err=True)


def _thread_limits(threads):
    """BLAS/OpenMP threads via threadpoolctl when installed, numba via set_num_threads."""
    try:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        _progress("note: threadpoolctl not installed, BLAS threads left at their default")
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads)


def _check(impl, wl, params, xb, yb, refs):
    """One Adam step vs the float64 reference(s); returns the fields for the result."""
    from .impl_numpy import reference_step

    got = impl.one_step(xb, yb)
    c = compare(got, refs["torch"])
    out = {"max_abs_diff": c["max_abs_diff"], "n_off": c["n_off"], "n_params": c["n_params"]}
    if getattr(impl, "adam_eps", "torch") == "sklearn":
        if "sklearn" not in refs:
            refs["sklearn"] = reference_step(wl, params, xb, yb, adam_eps="sklearn")
        c = compare(got, refs["sklearn"])
        out.update(max_abs_diff_own_adam=c["max_abs_diff"], n_off_own_adam=c["n_off"])
    out["correct"] = c["ok"]
    return out


def _bench_workload(wl, names, threads, mode, ceiling, echo):
    from .impl_numpy import reference_step
    from .impls import IMPLS

    X, Y = make_data(wl)
    params = init_params(wl)
    xb, yb = first_batch(wl, X, Y)
    refs = {"torch": reference_step(wl, params, xb, yb)}
    echo(f"\n== {wl.name} {wl.describe()}  weights={wl.n_weights} "
         f"flops/step={wl.flops_per_step:.4g}")
    results = []
    for name in names:
        r = {"workload": wl.name, "arch": wl.describe(), "impl": name}
        try:
            impl = IMPLS[name](wl, X, Y, params, threads)
            r["note"] = getattr(impl, "note", "")
            r.update(_check(impl, wl, params, xb, yb, refs))
            extra = ""
            if "max_abs_diff_own_adam" in r:
                extra = (f"; vs a reference with its own Adam eps {r['max_abs_diff_own_adam']:.1e}"
                         f", {r['n_off_own_adam']} > {TOLERANCE:g}")
            flag = "ok" if r["correct"] else "CHECK"
            echo(f"check {wl.name} {name:<12} one Adam step vs float64 reference: max abs diff "
                 f"{r['max_abs_diff']:.1e}, {r['n_off']} of {r['n_params']} params "
                 f"> {TOLERANCE:g}{extra}  {flag}  [{r['note']}]")
            _progress(f"  timing {wl.name} {name} ...")
            times, n = time_steps(impl, mode["repeats"], mode["target_s"])
            r.update(summarize(times, wl, ceiling["gflops"]), steps_per_repeat=n,
                     repeats=mode["repeats"])
        except Exception as exc:  # one broken impl must not hide the others' numbers
            r["error"] = f"{type(exc).__name__}: {exc}"
            _progress(f"  {wl.name} {name} failed: {r['error']}")
        finally:
            impl = None  # free this impl's copies before the next one
        results.append(r)
    timed = {r["impl"]: r["median_us"] for r in results if "median_us" in r}
    from .impls import BASELINES
    for r in results:
        if "median_us" in r:
            r["speedup_vs"] = {b: timed[b] / r["median_us"] for b in BASELINES
                               if b in timed and b != r["impl"]}
    for r in results:
        echo(format_line(r))
    return results


def run_bench(workloads=None, impls=None, threads=None, quick=False, repeats=None,
              json_path=None, markdown_path=None, echo=click.echo):
    """Run the benchmark and return the JSON payload (also written to ``json_path``)."""
    from .impls import BASELINES, FASTNN_NOTE, IMPLS

    mode = dict(QUICK if quick else FULL)
    if repeats:
        mode["repeats"] = repeats
    threads = threads or len(os.sched_getaffinity(0))
    workloads = list(workloads or (QUICK_WORKLOADS if quick else WORKLOADS))
    names = list(impls or IMPLS)
    if FASTNN_NOTE:
        _progress(FASTNN_NOTE)
    skipped = [n for n in names if not IMPLS[n].available()]
    for n in skipped:
        _progress(f"note: {n} skipped, its package is not installed")
    names = [n for n in names if n not in skipped]
    with _thread_limits(threads):
        env = envmod.collect(threads)
        for line in envmod.format_env(env):
            echo(line)
        ceiling = sgemm_ceiling(repeats=mode["ceiling_repeats"])
        echo(f"sgemm ceiling: numpy float32 {ceiling['n']}^3 matmul median "
             f"{ceiling['gflops']:.1f} GFLOP/s (best {ceiling['gflops_best']:.1f})")
        echo(f"FLOPs: {FLOP_FORMULA}; speedup = baseline us / this us")
        results = []
        for w in workloads:
            results += _bench_workload(WORKLOADS[w], names, threads, mode, ceiling, echo)
    problems = [f"{r['workload']}/{r['impl']}" for r in results
                if r.get("error") or not r.get("correct", True)]
    wl_info = {w: {**dataclasses.asdict(WORKLOADS[w]), "n_weights": WORKLOADS[w].n_weights,
                   "flops_per_step": WORKLOADS[w].flops_per_step} for w in workloads}
    payload = {"ok": not problems, "problems": problems, "env": env, "ceiling": ceiling,
               "flop_formula": FLOP_FORMULA, "mode": "quick" if quick else "full",
               "config": mode, "tolerance": TOLERANCE, "max_fraction_off": MAX_FRACTION_OFF,
               "skipped": skipped, "fastnn_note": FASTNN_NOTE, "workloads": wl_info,
               "results": results}
    if json_path:
        write_json(json_path, payload)
        _progress(f"wrote {json_path}")
    if markdown_path:
        write_text(markdown_path, markdown_table(results, [b for b in BASELINES if b in names],
                                                 ceiling))
        _progress(f"wrote {markdown_path}")
    if problems:
        _progress(f"warning: failed or outside tolerance: {', '.join(problems)}")
    return payload


def _csv(choices):
    def parse(ctx, param, value):
        if value is None:
            return None
        items = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in items if v not in choices]
        if unknown:
            raise click.BadParameter(f"unknown {', '.join(unknown)}; choose from "
                                     f"{', '.join(choices)}")
        return items
    return parse


def _impl_names():
    from .impls import IMPLS
    return list(IMPLS)


@click.command(name="bench")
@click.option("--quick", is_flag=True, help="W1-W3 only, 3 short repeats (under a minute).")
@click.option("--workloads", callback=_csv(list(WORKLOADS)), help="Comma list, e.g. W1,W3.")
@click.option("--impls", callback=lambda c, p, v: v and _csv(_impl_names())(c, p, v),
              help="Comma list of implementations (default: all available).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads for BLAS, torch and numba (default: nproc).")
@click.option("--repeats", type=click.IntRange(min=1), default=None, help="Timed repeats.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="JSON output (default bench/results.json, scaling: bench/scaling.json).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False), default=None,
              help="Markdown table (default bench/results.md, scaling: bench/scaling.md).")
@click.option("--scaling", is_flag=True, help="Run the width/depth/batch/samples scaling table.")
@click.option("--scaling-impl", default=None,
              help="Implementation for --scaling (default fastnn if available, else numpy).")
def main(quick, workloads, impls, threads, repeats, json_path, markdown_path, scaling,
         scaling_impl):
    """Benchmark a steady-state Adam training step of dense MLPs against baselines."""
    if scaling:
        from .scaling import run_scaling
        return run_scaling(impl=scaling_impl, threads=threads, quick=quick,
                           json_path=json_path or os.path.join(HERE, "scaling.json"),
                           markdown_path=markdown_path or os.path.join(HERE, "scaling.md"))
    return run_bench(workloads, impls, threads, quick, repeats,
                     json_path=json_path or os.path.join(HERE, "results.json"),
                     markdown_path=markdown_path or os.path.join(HERE, "results.md"))


def run(argv=None):
    """Run as if from the command line with ``argv`` (default ``sys.argv[1:]``)."""
    return main.main(args=list(sys.argv[1:] if argv is None else argv),
                     prog_name="python -m bench", standalone_mode=False)
