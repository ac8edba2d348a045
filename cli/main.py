"""``fastnn`` command group: train, predict, evaluate, datasets, ...

Results go to stdout, progress and warnings to stderr.  A user mistake
(bad option, bad file, diverged training) is one line on stderr and a
non-zero exit status, never a traceback.  Numba-heavy modules are imported
inside the command bodies so ``--help`` is instant.
"""
import contextlib
import os
import sys
import time
import warnings

import click

from .options import ACTIVATIONS, network_options


class _Interrupts:
    """Ctrl-C seen during a command.

    Python raises KeyboardInterrupt wherever the main thread is; inside Numba's
    compiler (or its cache loading) that surfaced as another error ("no
    compiled object yet ..."), as a traceback printed from an LLVM callback, or
    was swallowed by a destructor so the command went on and saved.  So while
    Numba holds its compiler lock the interrupt is deferred: a watcher thread
    waits for the lock and interrupts the main thread again once it is free.
    Every interrupt is also recorded, and :meth:`check` stops before any
    output is written."""

    def __init__(self):
        self.seen = False

    def handler(self, signum, frame):
        self.seen = True
        lock = _numba_compiler_lock()
        if lock is not None and lock.is_locked():
            import threading
            threading.Thread(target=_interrupt_when_free, args=(lock,), daemon=True).start()
            return
        raise KeyboardInterrupt

    def check(self):
        if self.seen:
            raise KeyboardInterrupt


@contextlib.contextmanager
def user_errors():
    """Turn fastnn's user-facing errors into click's one-line errors; yields the
    command's :class:`_Interrupts` (call ``check()`` before writing results)."""
    import signal
    from fastnn.exceptions import FastnnError
    interrupts = _Interrupts()
    try:
        previous = signal.signal(signal.SIGINT, interrupts.handler)
    except ValueError:                       # not the main thread (e.g. a test runner)
        previous = None
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning
        try:
            yield interrupts
        except FastnnError as e:
            if interrupts.seen:
                _interrupted()
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            _interrupted()
        except MemoryError:
            raise click.ClickException("out of memory: use a smaller batch size, smaller "
                                       "layers or less data") from None
        except Exception:
            if interrupts.seen:              # an error caused by the interrupt, not a bug
                _interrupted()
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


def _numba_compiler_lock():
    """Numba's global compiler lock when Numba is loaded (never imports it)."""
    mod = sys.modules.get("numba.core.compiler_lock")
    return getattr(mod, "global_compiler_lock", None)


def _interrupt_when_free(lock):
    import _thread
    with lock._lock:                         # blocks while the main thread compiles
        pass
    _thread.interrupt_main()


def _interrupted():
    click.echo("interrupted: stopped before saving anything", err=True)
    raise SystemExit(130) from None


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"warning: {message}", err=True)


def load_data(data, dataset, target, seed=0):
    """A Table from a file path or a bundled dataset name (exactly one)."""
    import fastnn
    if (data is None) == (dataset is None):
        raise click.UsageError("give a DATA file or --dataset NAME (one of them)")
    if dataset is not None:
        if dataset not in fastnn.dataset_names():
            raise click.BadParameter(f"no dataset {dataset!r}; choose from "
                                     f"{', '.join(fastnn.dataset_names())}",
                                     param_hint="--dataset")
        if target is not None:
            raise click.UsageError("--target applies to a DATA file, not to --dataset")
        return fastnn.load_dataset(dataset, seed=seed), dataset
    if data.lower().endswith(".npz") and target is not None:
        raise click.UsageError("--target applies to CSV files; an .npz file holds arrays X and y")
    return fastnn.read_table(data, target=target), os.path.splitext(os.path.basename(data))[0]


@contextlib.contextmanager
def naming(source):
    """Prefix a data problem found while fitting or scoring with the file it came from."""
    from fastnn.exceptions import DataError
    try:
        yield
    except DataError as e:
        if str(e).startswith(source):
            raise
        raise DataError(f"{source}: {e}") from None


def output_path(path, inputs, option="--out", suffix=None):
    """The path that will be written (suffix appended as the writer does), checked before
    any work: its folder exists and is writable, it is no folder, and it is none of the
    input files (which it would destroy)."""
    if suffix and not path.endswith(suffix):
        path += suffix
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise click.BadParameter(f"folder {folder} does not exist", param_hint=option)
    if not os.access(folder, os.W_OK):
        raise click.BadParameter(f"folder {folder} is not writable", param_hint=option)
    if os.path.isdir(path):
        raise click.BadParameter(f"{path} is a folder", param_hint=option)
    for src in inputs:
        if src and os.path.exists(path) and os.path.samefile(path, src):
            raise click.BadParameter(f"{path} is an input of this command; writing there "
                                     "would destroy it", param_hint=option)
    return path


PLOT_FORMATS = (".png", ".pdf", ".svg")


def plot_path(path, inputs):
    """Check --plot before training: matplotlib present, a known format, a writable place."""
    if os.path.splitext(path)[1].lower() not in PLOT_FORMATS:
        raise click.BadParameter(f"{path}: the plot format must be one of "
                                 f"{', '.join(PLOT_FORMATS)}", param_hint="--plot")
    from fastnn.plotting import require_matplotlib
    require_matplotlib()
    return output_path(path, inputs, "--plot")


class OneLineErrors(click.Group):
    """A usage mistake in a subcommand is one line too (click would print the usage first)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            if e.ctx is None:
                raise
            err = click.ClickException(f"{e.format_message()} (see '{e.ctx.command_path} --help')")
            err.exit_code = e.exit_code
            raise err from None


@click.group(cls=OneLineErrors, context_settings=dict(help_option_names=["-h", "--help"]))
@click.version_option(package_name="fastnn", prog_name="fastnn")
def fastnn():
    """Train dense neural networks on the CPU, fast, and see why they fail."""


def _progress(n_epochs, quiet):
    """Callback printing one line per epoch on stderr (every k-th past 500 epochs)."""
    every = 1 if n_epochs <= 500 else n_epochs // 100

    def show(rec):
        if rec.get("event") == "recovered":
            click.echo(f"recovered: epoch {rec['epoch']} loss {rec['loss']:.4g}; rolled back "
                       f"to the last good weights, learning rate now {rec['new_lr']:g}",
                       err=True)
            return
        e = rec["epoch"]
        if quiet or (e % every and e != n_epochs and e != 1):
            return
        line = f"epoch {e:>{len(str(n_epochs))}}/{n_epochs}  loss {rec['loss']:.4f}"
        if rec["val_loss"] is not None:
            line += (f"  val_loss {rec['val_loss']:.4f}"
                     f"  val_{rec['metric_name']} {rec['val_metric']:.4f}")
        click.echo(line + f"  elapsed {rec['time']:.1f}s", err=True)
    return show


def build_and_fit(table, p, callback=None, diagnostics=True):
    """MLP from CLI options p, fitted on table; returns the model."""
    from fastnn import MLP
    model = MLP(hidden=p["hidden"], activation=p["activation"], task=p["task"], init=p["init"],
                standardize=p["standardize"], dtype=p["dtype"], seed=p["seed"])
    patience = p["patience"] or None
    if p["val_split"] == 0:
        patience = None
    with naming(table.source):
        model.fit(table.X, table.y, epochs=p["epochs"], batch_size=p["batch_size"],
                  lr=p["lr"], optimizer=p["optimizer"], momentum=p["momentum"],
                  nesterov=p["nesterov"], clip_norm=p["clip_norm"], l2=p["l2"],
                  validation_split=p["val_split"], patience=patience, recover=p["recover"],
                  diagnostics=diagnostics, engine=p["engine"],
                  feature_names=table.feature_names, callback=callback)
    model.target_name_ = table.target
    return model


def _summary(model, table, name, wall, t_read):
    """The end-of-training report, on stdout."""
    h = model.history_
    sizes = "-".join(map(str, model.net_.sizes))
    n_train = model.samples_seen_ // max(model.n_epochs_, 1)
    n_val = len(table.X) - n_train
    click.echo(f"trained {sizes} ({model.activation} hidden, {model.task_}, {model.loss_}, "
               f"{model.net_.dtype}) on {name}: {n_train} training rows, {n_val} validation")
    stop = " (early stopping; best weights restored)" if h["stopped_early"] else ""
    click.echo(f"epochs run: {model.n_epochs_}{stop}")
    line = f"final train loss {h['loss'][-1]:.4f}"
    if h["val_metric"] and h["val_metric"][-1] is not None:
        finite = [i for i, v in enumerate(h["val_loss"]) if v is not None and v == v]
        best = min(finite, key=lambda i: h["val_loss"][i]) if finite else len(h["val_loss"]) - 1
        idx = best if h["stopped_early"] else len(h["val_loss"]) - 1
        which = "best, restored" if h["stopped_early"] else "last"
        line += (f"; validation {h['metric_name']} {h['val_metric'][idx]:.4f}, "
                 f"validation loss {h['val_loss'][idx]:.4f} (epoch {h['epoch'][idx]}, {which})")
    click.echo(line)
    if h["recoveries"]:
        click.echo(f"recoveries from divergence: {len(h['recoveries'])} (learning rate now "
                   f"{h['recoveries'][-1]['new_lr']:g})")
    t = model.train_time_
    rate = model.samples_seen_ / t if t > 0 else float("inf")
    from fastnn.network import MODE_TEXT
    engine = model.engine_["mode"]
    line = f"engine: {engine} ({MODE_TEXT[engine]})"
    cal = model.engine_["calibration"]
    if cal and cal.get("diverged"):
        line += "; the timing sample diverged, so the shape rule chose"
    elif cal:
        times = ", ".join(f"{m} {us:,.0f}" for m, us in cal["us_per_step"].items())
        line += f"; chosen by timing each mode on {cal['sample_rows']:,} rows: {times} us/step"
    from fastnn.network import kernels_compiled
    rest = "set-up and compiling the kernels (first run)" if kernels_compiled() else "set-up"
    click.echo(f"wall time {wall:.2f} s (reading data {t_read:.2f} s, training {t:.2f} s at "
               f"{rate:,.0f} samples/s, the rest {rest})")
    click.echo(line)


@fastnn.command()
@click.argument("data", required=False, type=click.Path(exists=True, dir_okay=False))
@network_options
@click.option("--out", "-O", "out", type=click.Path(dir_okay=False),
              help="Where to save the model [default: NAME.fnn.npz in the current folder].")
@click.option("--quiet", "-q", is_flag=True, help="No per-epoch progress.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Save loss curves and a gradient-norm heat map as PNG (needs matplotlib).")
def train(data, dataset, target, out, quiet, plot, **p):
    """Train a network on DATA (CSV with a header, or .npz with X and y) or --dataset NAME."""
    with user_errors() as interrupts:
        t0 = time.perf_counter()
        table, name = load_data(data, dataset, target, p["seed"])
        t_read = time.perf_counter() - t0
        path = output_path(out or f"{name}.fnn.npz", [data], suffix=".npz")
        if plot:
            plot_path(plot, [data, path])
        model = build_and_fit(table, p, _progress(p["epochs"], quiet))
        _summary(model, table, name, time.perf_counter() - t0, t_read)
        interrupts.check()
        existed = os.path.exists(path)
        path = model.save(path)
        if plot:
            from fastnn.plotting import plot_history
            plot_history(model.history_, plot)
            click.echo(f"plot saved to {plot}")
        click.echo(f"model saved to {path}" + (" (replaced the previous file)" if existed else ""))


@fastnn.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(exists=True, dir_okay=False))
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "-O", type=click.Path(dir_okay=False), default=None,
              help="Write the CSV here instead of stdout.")
@click.option("--proba", is_flag=True, help="Add one probability column per class.")
def predict(model_path, data, out, proba):
    """Predict with MODEL for every row of DATA; writes CSV (prediction first)."""
    import numpy as np
    import fastnn
    with user_errors():
        if out:
            out = output_path(out, [model_path, data])
        model = fastnn.load(model_path)
        table = fastnn.read_table(data, features=model.feature_names_in_, require_target=False)
        if proba and model.task_ == "regression":
            raise click.UsageError("--proba is for classification models; this one does "
                                   "regression")
        with naming(data):
            logits = model.decision_function(table.X)
        pred = model._predict_from_logits(logits)
        header = ["prediction"]
        cols = [np.asarray(pred).reshape(len(pred), -1)[:, 0]]
        if proba:
            P = model._proba_from_logits(logits)
            header += [f"proba_{c}" for c in model.classes_]
            cols += [P[:, k] for k in range(P.shape[1])]
        _write_csv(out, header, cols, regression=model.task_ == "regression")
        if out:
            click.echo(f"{len(pred)} predictions written to {out}", err=True)


def _write_csv(out, header, cols, regression):
    import csv
    f = open(out, "w", newline="") if out else sys.stdout
    try:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        first = cols[0]
        for i in range(len(first)):
            p = first[i]
            cell = repr(float(p)) if regression else (p.item() if hasattr(p, "item") else p)
            if isinstance(cell, float) and not regression and cell.is_integer():
                cell = int(cell)
            w.writerow([cell] + [f"{c[i]:.6g}" for c in cols[1:]])
    finally:
        if out:
            f.close()


@fastnn.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(exists=True, dir_okay=False))
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option("--target", "-t", metavar="COL",
              help="Target column [default: the one the model was trained on, else the last].")
def evaluate(model_path, data, target):
    """Score MODEL on DATA: loss and accuracy, or loss, RMSE and R^2."""
    import fastnn
    with user_errors():
        model = fastnn.load(model_path)
        target = target or getattr(model, "target_name_", None)
        if target is not None and target in model.feature_names_in_:
            raise click.BadParameter(f"{target!r} is one of the model's input features",
                                     param_hint="--target")
        table = fastnn.read_table(data, target=target, features=model.feature_names_in_)
        if table.y is None:
            raise click.UsageError(f"{data}: no target column {target!r}; name it with --target")
        with naming(data):
            r = model.evaluate(table.X, table.y)
        click.echo(f"rows {r['n']}")
        for k in ("loss", "accuracy", "rmse", "r2"):
            if k in r:
                click.echo(f"{k} {r[k]:.4f}")


@fastnn.command()
@click.option("--export", "name", metavar="NAME",
              help="Write dataset NAME as a CSV file instead of listing (header row, target "
                   "last), e.g. to try `fastnn train FILE` on a file.")
@click.option("--out", "-O", type=click.Path(dir_okay=False), default=None,
              help="Where --export writes [default: NAME.csv in the current folder].")
def datasets(name, out):
    """List the bundled and generated datasets, or write one as CSV (--export)."""
    import fastnn
    if name:
        from fastnn.io import write_csv
        with user_errors():
            table = fastnn.load_dataset(name)
            path = output_path(out or f"{name}.csv", [])
            write_csv(path, table)
        click.echo(f"{len(table.X)} rows of {name} written to {path} (target column "
                   f"{table.target!r})")
        return
    if out:
        raise click.UsageError("--out needs --export NAME")
    rows = fastnn.describe_datasets()
    click.echo(f"{'name':<14}{'rows':>6}{'features':>10}  {'task':<11}{'target':<13}description")
    for r in rows:
        click.echo(f"{r['name']:<14}{r['rows']:>6}{r['features']:>10}  {r['task']:<11}"
                   f"{r['target']:<13}{r['description']}")


@fastnn.command(context_settings=dict(default_map=dict(epochs=5)))
@click.argument("data", required=False, type=click.Path(exists=True, dir_okay=False))
@network_options
@click.option("--compare", "-c", "compare", multiple=True,
              type=click.Choice(ACTIVATIONS),
              help="Also diagnose the same network with this activation (its default init); "
                   "repeatable.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Save loss curves and gradient-norm heat maps as PNG (needs matplotlib).")
def diagnose(data, dataset, target, compare, plot, **p):
    """Report per-layer gradient norms (at initialisation and after --epochs, default 5),
    dead and saturated units, and health warnings."""
    with user_errors():
        from fastnn.diagnose import diagnose as run_diagnose, format_report
        table, name = load_data(data, dataset, target, p["seed"])
        if plot:
            plot_path(plot, [data])
        diags = []
        for i, act in enumerate((p["activation"],) + tuple(compare)):
            init = p["init"] if i == 0 else "auto"
            patience = (p["patience"] or None) if p["val_split"] > 0 else None
            with naming(table.source):
                diags.append(run_diagnose(
                    table.X, table.y, hidden=p["hidden"], activation=act, init=init,
                    epochs=p["epochs"], seed=p["seed"], dtype=p["dtype"],
                    standardize=p["standardize"], batch_size=p["batch_size"], lr=p["lr"],
                    optimizer=p["optimizer"], momentum=p["momentum"], nesterov=p["nesterov"],
                    clip_norm=p["clip_norm"], l2=p["l2"], validation_split=p["val_split"],
                    patience=patience, recover=p["recover"], engine=p["engine"],
                    feature_names=table.feature_names))
        sizes = "-".join(map(str, diags[0].model.net_.sizes))
        click.echo(f"diagnose {name}: {sizes}, {p['epochs']} epoch(s), batch {p['batch_size']}, "
                   f"{p['optimizer']}, {p['dtype']}, seed {p['seed']}")
        click.echo(format_report(diags, p["epochs"]))
        if plot:
            from fastnn.plotting import plot_history
            root, ext = os.path.splitext(plot)
            for i, d in enumerate(diags):
                path = plot if i == 0 else f"{root}-{d.model.activation}{ext or '.png'}"
                plot_history(d.model.history_, path, title=d.label)
                click.echo(f"plot saved to {path}")


@fastnn.command()
def selftest():
    """Check the compiled kernels on this machine: gradients vs NumPy, XOR learnt."""
    from fastnn import selftest as st
    if not st.run(echo=click.echo):
        raise SystemExit(1)


@fastnn.command(context_settings=dict(ignore_unknown_options=True, allow_extra_args=True,
                                      help_option_names=[]))
@click.pass_context
def bench(ctx):
    """Run the benchmark suite (same options as `python -m bench`; try `fastnn bench --help`)."""
    from bench.run import run
    try:
        run(list(ctx.args), prog_name="fastnn bench")
    except click.ClickException as e:      # standalone_mode=False hands these back
        click.echo(f"Error: {e.format_message()} (see 'fastnn bench --help')", err=True)
        raise SystemExit(e.exit_code) from None
    except click.exceptions.Abort:
        raise SystemExit(130) from None


def main():
    fastnn(prog_name="fastnn")
