"""``python -m bench``: correctness, then timing, of every impl on every workload.

By default every (workload, impl) is measured in a fresh process of its own
(``python -m bench.worker``), as are the sgemm ceiling (``python -m bench.ceiling``, at the
start and at the end of the run) and the environment probe (``python -m bench.env``), so no
impl's thread pools exist while another is timed and this process never starts one.
``--in-process`` measures everything in this process instead (the old behaviour).

``run(argv)`` parses ``argv`` like the command line (for ``fastnn bench``);
``run_bench(...)`` is the same without parsing and returns the JSON payload.
"""

import contextlib
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time

import click

from . import env as envmod
from .registry import BASELINES, NAMES
from .report import (BUSY_CORES, FLOP_FORMULA, busy_note, format_check, format_line,
                     markdown_table, write_json, write_text)
from .timing import MAX_FRACTION_OFF, TOLERANCE
from .worker import RESULT_PREFIX, measure, thread_limits as _thread_limits, workload_data
from .workloads import QUICK_WORKLOADS, WORKLOADS

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # the directory holding the bench package (and fastnn)


def default_output(name):
    """bench/NAME in a source checkout; ./fastnn-NAME when bench is installed
    (never write into site-packages)."""
    if "site-packages" in HERE.split(os.sep) or not os.access(HERE, os.W_OK):
        return os.path.join(os.getcwd(), f"fastnn-{name}")
    return os.path.join(HERE, name)
FULL = {"repeats": 7, "target_s": 0.5, "ceiling_repeats": 5}
QUICK = {"repeats": 3, "target_s": 0.15, "ceiling_repeats": 3}
WORKER_TIMEOUT_S = 600
PROBE_TIMEOUT_S = 120  # at least this long for the environment probe and the ceiling
ISOLATED = ("each (workload, impl) timed in its own fresh process (python -m bench.worker), "
            "sgemm ceiling at start and end and this environment probe in processes of their "
            "own; the BLAS/OpenMP list below is the probe's, with every impl imported (each "
            "worker's own list is in the JSON, results[].worker.thread_pools)")
IN_PROCESS = "none (--in-process): every impl timed one after another in this one process"
ISOLATION_SHORT = {False: "each (workload, impl) timed in its own fresh process",
                   True: "none, every impl timed in one process (--in-process)"}


def _progress(msg):
    click.echo(msg, err=True)


def _child(module, args, timeout):
    """Run ``python -m <module> <args>`` in a new process (group); parse its result line.

    Returns ``(result dict or None, error text or None, seconds)``. Its stderr is passed on,
    indented, once it has finished; on a timeout the whole process group is killed.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in [env.get("PYTHONPATH")] if p])
    cmd = [sys.executable, "-m", module, *args]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, start_new_session=True)
    error = None
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        error = f"worker timed out after {timeout:g} s and was killed (see --timeout)"
    except BaseException:  # Ctrl-C: do not leave the child running
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        raise
    wall = time.perf_counter() - t0
    err_lines = [ln for ln in (err or "").splitlines() if ln.strip()]
    for ln in err_lines:
        _progress(f"    | {ln}")
    result = None
    for ln in reversed((out or "").splitlines()):
        if ln.startswith(RESULT_PREFIX):
            try:
                result = json.loads(ln[len(RESULT_PREFIX):])
            except ValueError as exc:
                error = error or f"worker printed an unreadable result ({exc})"
            break
    if result is None and error is None:
        rc = p.returncode
        how = (f"killed by {signal.Signals(-rc).name}" if rc < 0 and -rc in
               signal.valid_signals() else f"exit code {rc}")
        last = err_lines[-1].strip() if err_lines else "no output"
        error = f"worker crashed ({how}): {last}"
    return result, error, wall


def _ceiling_isolated(repeats, threads, timeout, when):
    c, err, _ = _child("bench.ceiling", ["--repeats", str(repeats), "--threads", str(threads)],
                       max(timeout, PROBE_TIMEOUT_S))
    if c is None:
        _progress(f"  sgemm ceiling ({when}) failed: {err}")
        return None
    c["when"] = when
    return c


def _combine_ceilings(measured, repeats):
    """The higher of the start and end ceilings: the best this machine did during the run."""
    ok = [c for c in measured if c]
    if not ok:
        return {"n": 2048, "repeats": repeats, "gflops": math.nan, "gflops_best": math.nan,
                "how": "not measured (its processes failed)", "measured": measured}
    best = dict(max(ok, key=lambda c: c["gflops"]))
    runs = ", ".join(f"{c['when']} {c['gflops']:.1f}" for c in ok)
    best["how"] = (f"the higher of start and end of run ({runs} GFLOP/s), each in its own "
                   "process" if len(ok) > 1 else f"{runs} GFLOP/s only, the other one failed")
    best["measured"] = measured
    return best


def _echo_ceiling(echo, c, label):
    echo(f"sgemm ceiling{label}: numpy float32 {c['n']}^3 matmul median "
         f"{c['gflops']:.1f} GFLOP/s (best {c['gflops_best']:.1f})")


def _finish(results, ceiling):
    """``pct_ceiling`` from the run's ceiling and ``speedup_vs`` within each workload."""
    for r in results:
        if "gflops" in r and "median_us" in r:
            r["pct_ceiling"] = 100.0 * r["gflops"] / ceiling["gflops"]
    by_wl = {}
    for r in results:
        by_wl.setdefault(r["workload"], []).append(r)
    for rs in by_wl.values():
        timed = {r["impl"]: r["median_us"] for r in rs if "median_us" in r and not r.get("error")}
        for r in rs:
            if "median_us" in r and not r.get("error"):
                r["speedup_vs"] = {b: timed[b] / r["median_us"] for b in BASELINES
                                   if b in timed and b != r["impl"]}


def _echo_check(echo, r):
    if "max_abs_diff" in r:
        echo(format_check(r, TOLERANCE))


def _header(echo, wl):
    echo(f"\n== {wl.name} {wl.describe()}  weights={wl.n_weights} "
         f"flops/step={wl.flops_per_step:.4g}")


def _run_isolated(workloads, names, threads, mode, timeout, quick, echo):
    results = []
    for w in workloads:
        wl = WORKLOADS[w]
        _header(echo, wl)
        for name in names:
            _progress(f"  {wl.name} {name}: new process ...")
            args = ["--workload", w, "--impl", name, "--threads", str(threads),
                    "--repeats", str(mode["repeats"]), "--target-s", str(mode["target_s"])]
            r, err, wall = _child("bench.worker", args + (["--quick"] if quick else []),
                                  timeout)
            if r is None:
                r = {"workload": wl.name, "arch": wl.describe(), "impl": name, "error": err}
            r.setdefault("worker", {})["process_s"] = wall
            _echo_check(echo, r)
            cpu = r.get("cpu") or {}
            _progress(f"  {wl.name} {name}: "
                      + (f"{r['median_us']:.1f} us/step median" if "median_us" in r
                         else f"failed: {r.get('error')}") + f" ({wall:.1f} s in its process"
                      + (f"; cores busy while timed: this {cpu['own_cores']:.1f}, others "
                         f"{cpu['other_cores']:.1f}" if cpu else "") + ")")
            results.append(r)
    return results


def _run_in_process(workloads, names, threads, mode, echo):
    from .impls import IMPLS

    results = []
    for w in workloads:
        wl = WORKLOADS[w]
        data, refs = workload_data(wl)
        _header(echo, wl)
        for name in names:
            results.append(measure(wl, name, IMPLS[name], threads, mode["repeats"],
                                   mode["target_s"], data, refs,
                                   on_check=lambda r: _echo_check(echo, r)))
    return results


def run_bench(workloads=None, impls=None, threads=None, quick=False, repeats=None,
              json_path=None, markdown_path=None, echo=click.echo, in_process=False,
              timeout=WORKER_TIMEOUT_S):
    """Run the benchmark and return the JSON payload (also written to ``json_path``).

    Each (workload, impl) runs in its own process unless ``in_process``; ``timeout`` is the
    limit in seconds for one such process.
    """
    mode = dict(QUICK if quick else FULL)
    if repeats:
        mode["repeats"] = repeats
    threads = threads or len(os.sched_getaffinity(0))
    workloads = list(workloads or (QUICK_WORKLOADS if quick else WORKLOADS))
    names = list(impls or NAMES)
    if in_process:
        from .impls import FASTNN_NOTE, IMPLS
        with _thread_limits(threads):
            env = envmod.collect(threads)
            env["impls_available"] = [n for n in IMPLS if IMPLS[n].available()]
            env["fastnn_note"] = FASTNN_NOTE
    else:
        env, err, _ = _child("bench.env", ["--threads", str(threads)],
                             max(timeout, PROBE_TIMEOUT_S))
        if env is None:
            _progress(f"note: environment probe failed ({err}); impls not checked up front")
            env = envmod.collect_basic(threads)
            env.update(impls_available=list(NAMES), fastnn_note=None, probe_error=err)
    env["isolation"] = IN_PROCESS if in_process else ISOLATED
    fastnn_note = env.get("fastnn_note")
    if fastnn_note and "fastnn" in names:
        _progress(fastnn_note)
    skipped = [n for n in names if n not in env["impls_available"]]
    for n in skipped:
        if n != "fastnn" or not fastnn_note:
            _progress(f"note: {n} skipped, its package is not installed")
    names = [n for n in names if n not in skipped]
    for line in envmod.format_env(env):
        echo(line)
    if in_process:
        with _thread_limits(threads):
            from .ceiling import sgemm_ceiling
            ceiling = sgemm_ceiling(repeats=mode["ceiling_repeats"])
            ceiling["when"] = "start"
            _echo_ceiling(echo, ceiling, "")
            echo(f"FLOPs: {FLOP_FORMULA}; speedup = baseline us / this us")
            results = _run_in_process(workloads, names, threads, mode, echo)
        ceiling["measured"] = [dict(ceiling)]
        ceiling["how"] = "start of run, in this process"
    else:
        start = _ceiling_isolated(mode["ceiling_repeats"], threads, timeout, "start")
        if start:
            _echo_ceiling(echo, start, " (start of run)")
        echo(f"FLOPs: {FLOP_FORMULA}; speedup = baseline us / this us")
        results = _run_isolated(workloads, names, threads, mode, timeout, quick, echo)
        end = _ceiling_isolated(mode["ceiling_repeats"], threads, timeout, "end")
        echo("")
        if end:
            _echo_ceiling(echo, end, " (end of run)")
        ceiling = _combine_ceilings([start, end], mode["ceiling_repeats"])
        echo(f"% sgemm below uses {ceiling['gflops']:.1f} GFLOP/s, {ceiling.get('how')}")
    _finish(results, ceiling)
    echo("\n== results")
    for r in results:
        echo(format_line(r))
    problems = [f"{r['workload']}/{r['impl']}" for r in results
                if r.get("error") or not r.get("correct", True)]
    busy = [f"{r['workload']}/{r['impl']}" for r in results if busy_note(r)]
    if busy:
        _progress(f"warning: other processes kept more than {BUSY_CORES} cores busy while "
                  f"{', '.join(busy)} were timed: those numbers are not reliable, rerun on an "
                  "idle machine")
    wl_info = {w: {**dataclasses.asdict(WORKLOADS[w]), "n_weights": WORKLOADS[w].n_weights,
                   "flops_per_step": WORKLOADS[w].flops_per_step} for w in workloads}
    payload = {"ok": not problems, "problems": problems, "env": env, "ceiling": ceiling,
               "flop_formula": FLOP_FORMULA, "mode": "quick" if quick else "full",
               "isolation": "in-process" if in_process else "process per (workload, impl)",
               "config": {**mode, "worker_timeout_s": None if in_process else timeout},
               "tolerance": TOLERANCE, "max_fraction_off": MAX_FRACTION_OFF,
               "busy": busy, "skipped": skipped, "fastnn_note": fastnn_note, "workloads": wl_info,
               "results": results}
    if json_path:
        write_json(json_path, payload)
        _progress(f"wrote {json_path}")
    if markdown_path:
        write_text(markdown_path, markdown_table(results, [b for b in BASELINES if b in names],
                                                 ceiling, ISOLATION_SHORT[bool(in_process)]))
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
    return list(NAMES)


@click.command(name="bench", context_settings=dict(help_option_names=["-h", "--help"]))
@click.option("--quick", is_flag=True, help="W1-W3 only, 3 short repeats (under a minute).")
@click.option("--workloads", callback=_csv(list(WORKLOADS)), help="Comma list, e.g. W1,W3.")
@click.option("--impls", callback=lambda c, p, v: v and _csv(_impl_names())(c, p, v),
              help="Comma list of implementations (default: all available).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads for BLAS, torch and numba (default: nproc).")
@click.option("--repeats", type=click.IntRange(min=1), default=None, help="Timed repeats.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="JSON output (default bench/results.json in a checkout, else "
                   "./fastnn-results.json; scaling: ...scaling.json).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False), default=None,
              help="Markdown table (default bench/results.md in a checkout, else "
                   "./fastnn-results.md; scaling: ...scaling.md).")
@click.option("--in-process", is_flag=True,
              help="Time every impl in this one process (default: a fresh process for each "
                   "workload and impl, so no impl's thread pools run while another is timed).")
@click.option("--timeout", type=click.FloatRange(min=1), default=WORKER_TIMEOUT_S,
              show_default=True, help="Seconds one measurement process may take.")
@click.option("--scaling", is_flag=True, help="Run the width/depth/batch/samples scaling table.")
@click.option("--scaling-impl", default=None,
              help="Implementation for --scaling (default fastnn if available, else numpy).")
def main(quick, workloads, impls, threads, repeats, json_path, markdown_path, in_process,
         timeout, scaling, scaling_impl):
    """Benchmark a steady-state Adam training step of dense MLPs against baselines."""
    if scaling:
        from .scaling import run_scaling
        return run_scaling(impl=scaling_impl, threads=threads, quick=quick,
                           json_path=json_path or default_output("scaling.json"),
                           markdown_path=markdown_path or default_output("scaling.md"))
    return run_bench(workloads, impls, threads, quick, repeats,
                     json_path=json_path or default_output("results.json"),
                     markdown_path=markdown_path or default_output("results.md"),
                     in_process=in_process, timeout=timeout)


def run(argv=None, prog_name="python -m bench"):
    """Run as if from the command line with ``argv`` (default ``sys.argv[1:]``)."""
    return main.main(args=list(sys.argv[1:] if argv is None else argv),
                     prog_name=prog_name, standalone_mode=False)
