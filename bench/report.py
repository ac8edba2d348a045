"""Formatting of results: one text line per (workload, impl), a Markdown table, JSON."""

import json
import os

FLOP_FORMULA = "flops_per_step = 6 * n_weights * B, n_weights = sum(n_in * n_out)"
# Other processes keeping more cores than this busy while an impl was timed make its numbers
# unreliable (a thread pool waits a whole scheduler tick for a descheduled member).
BUSY_CORES = 0.25


def busy_note(r):
    """`` [machine busy: ...]`` when other processes used CPU during the timing, else ""."""
    other = (r.get("cpu") or {}).get("other_cores")
    if other is None or other <= BUSY_CORES:
        return ""
    return f"  [machine busy: other processes used {other:.1f} cores while timed]"


def _fmt_ratio(x):
    return f"{x:.2f}x" if x is not None else "-"


def _fmt_diff(r):
    own = r.get("max_abs_diff_own_adam")
    text = f"{r['max_abs_diff']:.1e} ({r['n_off']} off)"
    return text + (f" [{own:.1e} ({r['n_off_own_adam']} off) own Adam eps]" if own is not None
                   else "")


def format_check(r, tolerance):
    """The check line: one Adam step of this impl vs the float64 reference."""
    extra = ""
    if "max_abs_diff_own_adam" in r:
        extra = (f"; vs a reference with its own Adam eps {r['max_abs_diff_own_adam']:.1e}"
                 f", {r['n_off_own_adam']} > {tolerance:g}")
    flag = "ok" if r["correct"] else "CHECK"
    return (f"check {r['workload']} {r['impl']:<12} one Adam step vs float64 reference: max abs "
            f"diff {r['max_abs_diff']:.1e}, {r['n_off']} of {r['n_params']} params "
            f"> {tolerance:g}{extra}  {flag}  [{r.get('note', '')}]")


def format_line(r):
    """One line: times, throughput, GFLOP/s, % of the ceiling, speedups, correctness."""
    if r.get("error"):
        return f"{r['workload']:<3} {r['impl']:<12} ERROR {r['error']}"
    ratios = " ".join(f"{k} {_fmt_ratio(v)}" for k, v in r["speedup_vs"].items())
    return (f"{r['workload']:<3} {r['impl']:<12} med {r['median_us']:>10.1f} us  "
            f"min {r['min_us']:>10.1f} us  {r['samples_per_s']:>10.3g} samples/s  "
            f"{r['gflops']:>7.2f} GFLOP/s  {r['pct_ceiling']:>5.1f}% sgemm  "
            f"maxdiff {_fmt_diff(r)}  speedup vs: {ratios or '-'}"
            + ("" if r.get("correct", True) else "  [CORRECTNESS CHECK FAILED]")
            + busy_note(r))


def markdown_table(results, baselines, ceiling, isolation=None):
    cols = ["workload", "impl", "median us/step", "min us/step", "samples/s", "GFLOP/s",
            "% sgemm", "max abs diff"] + [f"vs {b}" for b in baselines]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in results:
        if r.get("error"):
            row = [r["workload"], r["impl"], f"error: {r['error']}"] + [""] * (len(cols) - 3)
        else:
            row = [r["workload"], r["impl"], f"{r['median_us']:.1f}", f"{r['min_us']:.1f}",
                   f"{r['samples_per_s']:.3g}", f"{r['gflops']:.2f}",
                   f"{r['pct_ceiling']:.1f}", _fmt_diff(r)]
            row += [_fmt_ratio(r["speedup_vs"].get(b)) for b in baselines]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append(f"FLOPs: `{FLOP_FORMULA}`. sgemm ceiling: numpy float32 "
                 f"{ceiling['n']}x{ceiling['n']} matmul, {ceiling['gflops']:.1f} GFLOP/s "
                 f"(median of {ceiling['repeats']}"
                 + (f"; {ceiling['how']}" if ceiling.get("how") else "") + "). "
                 + (f"Isolation: {isolation}. " if isolation else "")
                 + "Speedup = baseline us / this us "
                 "(> 1 means faster than that baseline). max abs diff: parameters after one "
                 "Adam step vs the float64 NumPy reference; 'off' counts parameters differing by "
                 "more than 1e-4 (for sklearn, also vs a reference using sklearn's placement of "
                 "Adam's eps).")
    return "\n".join(lines) + "\n"


def write_json(path, payload):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=False, default=str)
        f.write("\n")


def write_text(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
