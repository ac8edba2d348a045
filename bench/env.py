"""The environment a benchmark ran in: library versions, threads, BLAS, CPU."""

import os
import platform
import sys

import numpy as np


def _version(modname):
    try:
        mod = __import__(modname)
    except ImportError:
        return None
    return getattr(mod, "__version__", "?")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _numba_threading():
    """Numba's threading layer is only known after a parallel function has run once."""
    try:
        import numba
    except ImportError:
        return {"numba_threading_layer": None, "numba_threads": None}

    @numba.njit(parallel=True, cache=False)
    def _touch(a):
        for i in numba.prange(a.shape[0]):
            a[i] = i

    try:
        _touch(np.zeros(4))
        layer = numba.threading_layer()
    except Exception as exc:  # a missing TBB/OpenMP layer shows up here, not at import
        layer = f"unavailable ({type(exc).__name__})"
    return {"numba_threading_layer": layer, "numba_threads": numba.get_num_threads(),
            "numba_num_threads_max": numba.config.NUMBA_NUM_THREADS}


def _blas():
    """One dict per loaded BLAS/OpenMP library (threadpoolctl), else numpy's build config."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        except (TypeError, KeyError):  # numpy < 1.25 only prints its config
            blas = {}
        return [{"source": "numpy.show_config", "name": blas.get("name"),
                 "version": blas.get("version")}]
    keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer",
            "architecture", "prefix")
    out = []
    for d in threadpool_info():
        row = {k: d.get(k) for k in keep}
        # which package shipped the library: .../site-packages/<pkg>[.libs]/lib...so
        parts = os.path.normpath(d.get("filepath") or "").split(os.sep)
        if "site-packages" in parts[:-2]:
            row["shipped_by"] = parts[parts.index("site-packages") + 1].removesuffix(".libs")
        else:
            row["shipped_by"] = os.sep.join(parts[:-1]) or None
        out.append(row)
    return out


def collect(threads):
    env = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "threads_requested": threads,
        "numpy": np.__version__,
        "numba": _version("numba"),
        "torch": _version("torch"),
        "sklearn": _version("sklearn"),
        "threadpoolctl": _version("threadpoolctl"),
    }
    env.update(_numba_threading())
    try:
        import torch
        env["torch_threads"] = torch.get_num_threads()
    except ImportError:
        env["torch_threads"] = None
    env["blas"] = _blas()
    return env


def format_env(env):
    lines = [
        f"python {env['python']}  numpy {env['numpy']}  numba {env['numba']}  "
        f"torch {env['torch']}  sklearn {env['sklearn']}  threadpoolctl {env['threadpoolctl']}",
        f"cpu: {env['cpu']}  nproc: {env['nproc']}  threads requested: "
        f"{env['threads_requested']}",
        f"numba threading layer: {env['numba_threading_layer']}  numba threads: "
        f"{env['numba_threads']}  torch threads: {env['torch_threads']}",
    ]
    if env.get("isolation"):
        lines.append(f"isolation: {env['isolation']}")
    for d in env["blas"]:
        if d.get("user_api") == "openmp":
            lines.append(f"openmp: {d.get('prefix')} (from {d.get('shipped_by')}) "
                         f"threads={d.get('num_threads')}")
        else:
            desc = " ".join(f"{k}={v}" for k, v in d.items() if v is not None and k != "user_api")
            lines.append(f"blas: {desc}")
    return lines


def collect_all(threads):
    """What ``python -m bench.env`` reports: ``collect`` after importing every impl (so the
    BLAS/OpenMP list shows all their libraries), plus which impls are available and why
    fastnn is missing, if it is. Meant to run in a process of its own."""
    from .impls import FASTNN_NOTE, IMPLS
    from .worker import thread_limits

    with thread_limits(threads):
        env = collect(threads)
    env["impls_available"] = [n for n in IMPLS if IMPLS[n].available()]
    env["fastnn_note"] = FASTNN_NOTE
    return env


def collect_basic(threads):
    """Versions from package metadata only: imports nothing, starts no thread pool."""
    from importlib import metadata

    def version(dist):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "cpu": _cpu_model(), "nproc": len(os.sched_getaffinity(0)),
            "threads_requested": threads, "numpy": np.__version__, "numba": version("numba"),
            "torch": version("torch"), "sklearn": version("scikit-learn"),
            "threadpoolctl": version("threadpoolctl"), "numba_threading_layer": None,
            "numba_threads": None, "torch_threads": None, "blas": []}


def main(argv=None):
    """``python -m bench.env --threads 2``: one JSON line (see ``collect_all``) on stdout."""
    import argparse
    import contextlib
    import json

    from .worker import RESULT_PREFIX

    ap = argparse.ArgumentParser(prog="python -m bench.env")
    ap.add_argument("--threads", type=int, default=None, help="default: nproc")
    a = ap.parse_args(argv)
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        env = collect_all(a.threads or len(os.sched_getaffinity(0)))
    out.write(RESULT_PREFIX + json.dumps(env, default=str) + "\n")


if __name__ == "__main__":
    main()
