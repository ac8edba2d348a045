"""One (workload, implementation) measurement, meant to run in a fresh process of its own.

``python -m bench.worker --workload W3 --impl torch-fused --threads 2 --repeats 7 [--quick]``
builds the workload's data and initial parameters, checks one Adam step against the float64
reference, warms up, times, and prints ONE line on stdout: ``RESULT_PREFIX`` followed by a
JSON object (the result dict ``python -m bench`` reports: check figures, timings, note, or
``error``). Everything else the worker or a library prints goes to stderr.

Why a process per measurement: on a machine with few cores, the thread pools of the impls
timed before (numpy's OpenBLAS, torch's and sklearn's libgomp, SciPy's OpenBLAS used by
numba, numba's OpenMP pool) stay alive and spin-wait in the same process, and take cores from
whichever impl is timed next. In a fresh process only the measured impl's libraries are loaded.

``measure`` is also what ``python -m bench --in-process`` calls, once per impl, in one process.
"""

import argparse
import contextlib
import json
import os
import sys
import time

from .timing import compare, summarize, time_steps
from .workloads import WORKLOADS, first_batch, init_params, make_data

RESULT_PREFIX = "BENCH-RESULT "
QUICK_TARGET_S, FULL_TARGET_S = 0.15, 0.5
QUICK_REPEATS, FULL_REPEATS = 3, 7


def _progress(msg):
    print(msg, file=sys.stderr, flush=True)


def thread_limits(threads):
    """BLAS/OpenMP threads via threadpoolctl when installed, numba via set_num_threads.

    threadpoolctl only limits libraries already loaded, so import the impls first.
    """
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


def workload_data(wl):
    """Data, initial params, the check batch and the float64 reference step: same for all."""
    from .impl_numpy import reference_step

    X, Y = make_data(wl)
    params = init_params(wl)
    xb, yb = first_batch(wl, X, Y)
    refs = {"torch": reference_step(wl, params, xb, yb)}
    return (X, Y, params, xb, yb), refs


def check(impl, wl, params, xb, yb, refs):
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


def _cpu_snapshot():
    """(machine busy CPU seconds, this process's CPU seconds, wall seconds), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait (guest is in user)
    t = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), t.user + t.system, time.perf_counter()


def cpu_use(before, after):
    """Cores this process and all other processes kept busy between two snapshots."""
    if before is None or after is None or after[2] <= before[2]:
        return {}
    wall = after[2] - before[2]
    own = (after[1] - before[1]) / wall
    machine = (after[0] - before[0]) / wall
    return {"own_cores": own, "other_cores": max(0.0, machine - own)}


def measure(wl, name, cls, threads, repeats, target_s, data, refs, on_check=None,
            announce=True):
    """Check, warm up and time ``cls`` on ``wl``; returns the result dict (``error`` on failure).

    ``pct_ceiling`` and ``speedup_vs`` are left to the caller (they need the sgemm ceiling and
    the other impls' times). ``on_check(r)`` is called between the check and the timing.
    ``cpu`` gives the cores this process and all others kept busy while it was timed.
    """
    X, Y, params, xb, yb = data
    r = {"workload": wl.name, "arch": wl.describe(), "impl": name}
    impl = None
    try:
        impl = cls(wl, X, Y, params, threads)
        r["note"] = getattr(impl, "note", "")
        r.update(check(impl, wl, params, xb, yb, refs))
        if on_check:
            on_check(r)
        if announce:
            _progress(f"  timing {wl.name} {name} ...")
        before = _cpu_snapshot()
        times, n = time_steps(impl, repeats, target_s)
        r.update(summarize(times, wl), steps_per_repeat=n, repeats=repeats,
                 cpu=cpu_use(before, _cpu_snapshot()))
    except Exception as exc:  # one broken impl must not hide the others' numbers
        r["error"] = f"{type(exc).__name__}: {exc}"
        _progress(f"  {wl.name} {name} failed: {r['error']}")
    finally:
        impl = None  # free this impl's copies before the next one
    return r


def thread_pools():
    """The BLAS/OpenMP libraries loaded in this process and their thread counts."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [{k: d.get(k) for k in ("user_api", "internal_api", "num_threads", "prefix")}
            for d in threadpool_info()]


def run_worker(workload, impl, threads, repeats, target_s):
    """The whole worker: returns the result dict (never raises for an impl's failure)."""
    from .registry import load

    wl = WORKLOADS[workload]
    r = {"workload": wl.name, "arch": wl.describe(), "impl": impl}
    t0 = time.perf_counter()
    try:
        cls = load(impl)  # import the impl (and its libraries) before limiting their threads
        if not cls.available():
            raise RuntimeError(f"{impl} is not available (its package is not installed)")
        with thread_limits(threads):
            data, refs = workload_data(wl)
            r = measure(wl, impl, cls, threads, repeats, target_s, data, refs, announce=False)
            pools = thread_pools()
    except Exception as exc:  # import or data failure: still one JSON line for the parent
        r["error"] = f"{type(exc).__name__}: {exc}"
        pools = None
    r["worker"] = {"pid": os.getpid(), "in_worker_s": time.perf_counter() - t0,
                   "thread_pools": pools}
    return r


def main(argv=None):
    from .registry import NAMES

    ap = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True, choices=list(WORKLOADS))
    ap.add_argument("--impl", required=True, choices=list(NAMES))
    ap.add_argument("--threads", type=int, default=None, help="default: nproc")
    ap.add_argument("--repeats", type=int, default=None, help="default 7 (3 with --quick)")
    ap.add_argument("--target-s", type=float, default=None,
                    help="seconds per timed repeat (default 0.5, 0.15 with --quick)")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    threads = a.threads or len(os.sched_getaffinity(0))
    repeats = a.repeats or (QUICK_REPEATS if a.quick else FULL_REPEATS)
    target_s = a.target_s or (QUICK_TARGET_S if a.quick else FULL_TARGET_S)
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries the result line only
        r = run_worker(a.workload, a.impl, threads, repeats, target_s)
    out.write(RESULT_PREFIX + json.dumps(r, default=str) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
