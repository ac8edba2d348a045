"""The ``fastnn`` command line: train -> predict -> evaluate, datasets, one-line user
errors, option tables in sync with the kernels, and the installed console script."""
import csv
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import fastnn
from cli import options
from cli.main import fastnn as cli

IRIS_CLASSES = ["setosa", "versicolor", "virginica"]


def run(*args):
    """Invoke the CLI in-process; returns click's Result (stdout and stderr separate)."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


def parse_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def write_table(path, X, y, names, target, extra=None):
    """CSV with a header: feature columns, target, then optional extra columns."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(names) + [target] + list(extra or {}))
        for i in range(len(X)):
            w.writerow([repr(float(v)) for v in X[i]] + [y[i]]
                       + [col[i] for col in (extra or {}).values()])
    return str(path)


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    """A model trained once through `fastnn train --dataset iris`, and the iris CSV."""
    d = tmp_path_factory.mktemp("cli")
    model = d / "iris.npz"
    r = run("train", "--dataset", "iris", "--epochs", "30", "--hidden", "16", "--lr", "0.01",
            "-q", "--out", model)
    assert r.exit_code == 0, r.output
    data = fastnn.load_dataset("iris")
    path = write_table(d / "iris.csv", data.X, data.y, data.feature_names, "species",
                       extra={"note": ["row%d" % i for i in range(150)]})
    return dict(model=str(model), csv=path, data=data, train_result=r, dir=d)


def assert_user_error(r, *needles):
    """One line on stderr starting with 'Error:', non-zero status, no traceback."""
    assert r.exit_code not in (0, None), r.output
    assert isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{r.stderr}"
    assert lines[0].startswith("Error: "), lines[0]
    assert r.stdout == ""
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    return lines[0]


# ---------------------------------------------------------------------------
# train -> predict -> evaluate
# ---------------------------------------------------------------------------
def test_train_writes_model_and_summary(iris_model):
    """train saves a loadable model and reports the run on stdout."""
    r = iris_model["train_result"]
    assert "model saved to " + iris_model["model"] in r.stdout
    assert "4-16-3" in r.stdout and "multiclass" in r.stdout
    assert "120 training rows, 30 validation" in r.stdout
    assert "engine: serial (one thread does everything)\n" in r.stdout   # small: no timing
    assert "epoch " not in r.stderr                  # -q: no per-epoch progress
    m = fastnn.load(iris_model["model"])
    assert m.net_.sizes == [4, 16, 3]
    assert m.feature_names_in_ == iris_model["data"].feature_names
    assert m.target_name_ == "species"
    assert 1 <= len(m.history_["loss"]) <= 30


def test_train_progress_goes_to_stderr(tmp_path):
    """Without -q one progress line per epoch goes to stderr, results to stdout."""
    r = run("train", "--dataset", "xor", "--epochs", "3", "--hidden", "4",
            "--out", tmp_path / "x.npz")
    assert r.exit_code == 0, r.output
    progress = [ln for ln in r.stderr.splitlines() if ln.startswith("epoch ")]
    assert len(progress) == 3 and progress[-1].startswith("epoch 3/3")
    assert "epoch 1/3" not in r.stdout and "model saved" in r.stdout


def test_predict_csv_one_row_per_input_with_original_labels(iris_model):
    """predict writes a CSV: header, prediction first, one row per input, string labels."""
    r = run("predict", iris_model["model"], iris_model["csv"])
    assert r.exit_code == 0, r.output
    header, rows = parse_csv(r.stdout)
    assert header == ["prediction"]
    assert len(rows) == 150
    pred = [row[0] for row in rows]
    assert set(pred) <= set(IRIS_CLASSES)
    model = fastnn.load(iris_model["model"])
    assert pred == model.predict(iris_model["data"].X).tolist()
    assert np.mean(np.array(pred) == iris_model["data"].y) >= 0.8


def test_predict_proba_columns_sum_to_one(iris_model):
    """--proba adds one column per class; each row sums to 1 and argmax is the prediction."""
    r = run("predict", iris_model["model"], iris_model["csv"], "--proba")
    assert r.exit_code == 0, r.output
    header, rows = parse_csv(r.stdout)
    assert header == ["prediction"] + [f"proba_{c}" for c in IRIS_CLASSES]
    assert len(rows) == 150 and all(len(row) == 4 for row in rows)
    P = np.array([[float(v) for v in row[1:]] for row in rows])
    assert np.all((P >= 0) & (P <= 1))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-5)
    assert [row[0] for row in rows] == [IRIS_CLASSES[k] for k in P.argmax(axis=1)]


def test_predict_out_file(iris_model, tmp_path):
    """predict --out writes the CSV to a file and says so on stderr."""
    out = tmp_path / "pred.csv"
    r = run("predict", iris_model["model"], iris_model["csv"], "--out", out)
    assert r.exit_code == 0, r.output
    assert r.stdout == ""
    assert "150 predictions written" in r.stderr
    header, rows = parse_csv(out.read_text())
    assert header == ["prediction"] and len(rows) == 150


def test_predict_ignores_extra_columns(iris_model, tmp_path):
    """Columns of DATA the model does not use (any order, even text) are ignored."""
    data = iris_model["data"]
    names = data.feature_names
    path = tmp_path / "shuffled.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["comment", names[3], "id", names[1], names[0], names[2]])
        for i in range(10):
            x = data.X[i]
            w.writerow([f"text {i}", x[3], i, x[1], x[0], x[2]])
    r = run("predict", iris_model["model"], path)
    assert r.exit_code == 0, r.output
    _, rows = parse_csv(r.stdout)
    model = fastnn.load(iris_model["model"])
    assert [row[0] for row in rows] == model.predict(data.X[:10]).tolist()


def test_predict_without_target_column(iris_model, tmp_path):
    """DATA for predict needs no target column."""
    data = iris_model["data"]
    path = tmp_path / "x.csv"
    np.savetxt(path, data.X[:5], delimiter=",", header=",".join(data.feature_names),
               comments="")
    r = run("predict", iris_model["model"], path)
    assert r.exit_code == 0, r.output
    assert len(parse_csv(r.stdout)[1]) == 5


def test_evaluate_reports_loss_and_accuracy(iris_model):
    """evaluate prints rows, loss and accuracy equal to MLP.evaluate on the same data."""
    r = run("evaluate", iris_model["model"], iris_model["csv"])
    assert r.exit_code == 0, r.output
    lines = dict(ln.split(" ", 1) for ln in r.stdout.splitlines())
    assert lines["rows"] == "150"
    model = fastnn.load(iris_model["model"])
    ref = model.evaluate(iris_model["data"].X, iris_model["data"].y)
    assert float(lines["accuracy"]) == pytest.approx(ref["accuracy"], abs=1e-4)
    assert float(lines["loss"]) == pytest.approx(ref["loss"], abs=1e-4)
    assert "rmse" not in lines


def test_regression_train_predict_evaluate(tmp_path):
    """A regression CSV: --target picks the column, predict gives numbers, evaluate R^2."""
    d = fastnn.load_dataset("diabetes")
    path = write_table(tmp_path / "diab.csv", d.X, d.y, d.feature_names, "progression")
    model = tmp_path / "diab.npz"
    r = run("train", path, "--target", "progression", "--epochs", "20", "--hidden", "16",
            "-q", "--out", model)
    assert r.exit_code == 0, r.output
    assert "regression" in r.stdout
    r = run("predict", model, path)
    assert r.exit_code == 0, r.output
    _, rows = parse_csv(r.stdout)
    pred = np.array([float(row[0]) for row in rows])
    assert len(pred) == 442 and np.all(np.isfinite(pred))
    np.testing.assert_allclose(pred, fastnn.load(model).predict(d.X), rtol=1e-12)
    r = run("evaluate", model, path)
    assert r.exit_code == 0, r.output
    lines = dict(ln.split(" ", 1) for ln in r.stdout.splitlines())
    assert float(lines["r2"]) > 0.3 and float(lines["rmse"]) > 0
    r = run("predict", model, path, "--proba")
    assert_user_error(r, "--proba", "regression")


def test_train_on_npz(tmp_path):
    """train accepts an .npz with X and y."""
    X, y = fastnn.make_moons(n_samples=100, seed=0)
    path = str(tmp_path / "moons.npz")
    np.savez(path, X=X, y=y)
    r = run("train", path, "--epochs", "3", "--hidden", "4", "-q", "--out", tmp_path / "m.npz")
    assert r.exit_code == 0, r.output
    assert fastnn.load(tmp_path / "m.npz").task_ == "binary"


def test_datasets_lists_every_dataset():
    """`fastnn datasets` prints one row per dataset with its rows and features."""
    r = run("datasets")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["name", "rows", "features"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert set(rows) == set(fastnn.dataset_names())
    assert rows["iris"][1:4] == ["150", "4", "multiclass"]
    assert rows["breast_cancer"][1:4] == ["569", "30", "binary"]
    assert rows["diabetes"][1:4] == ["442", "10", "regression"]


# ---------------------------------------------------------------------------
# user errors: one line, non-zero status, no traceback
# ---------------------------------------------------------------------------
def test_error_missing_file(tmp_path):
    """A DATA file that does not exist."""
    missing = str(tmp_path / "nope.csv")
    assert_user_error(run("train", missing, "--epochs", "1"), "nope.csv")


def test_error_bad_hidden():
    """--hidden that is not a list of positive integers."""
    assert_user_error(run("train", "--dataset", "iris", "--hidden", "64,x"), "--hidden", "64,x")
    assert_user_error(run("train", "--dataset", "iris", "--hidden", "64,-2"), "--hidden")


def test_error_non_numeric_cell_names_line_and_column(tmp_path):
    """A non-numeric cell in DATA: the line and the column are in the message."""
    path = tmp_path / "bad.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n5,six,0\n")
    line = assert_user_error(run("train", path, "--epochs", "1"), "line 4", "'b'", "'six'")
    assert "bad.csv" in line


def test_error_missing_cell(tmp_path):
    """An empty cell in DATA: the line and the column are in the message."""
    path = tmp_path / "gap.csv"
    path.write_text("a,b,y\n1,2,0\n3,,1\n")
    assert_user_error(run("train", path, "--epochs", "1"), "line 3", "'b'", "missing")


def test_error_missing_feature_column_at_predict(iris_model, tmp_path):
    """predict on DATA without one of the model's features names that column."""
    data = iris_model["data"]
    path = tmp_path / "three.csv"
    np.savetxt(path, data.X[:5, :3], delimiter=",", header=",".join(data.feature_names[:3]),
               comments="")
    assert_user_error(run("predict", iris_model["model"], path), data.feature_names[3])


def test_error_predict_with_non_model_file(iris_model):
    """MODEL that is not a model file (here a CSV) is a one-line error."""
    assert_user_error(run("predict", iris_model["csv"], iris_model["csv"]),
                      "not a fastnn model file")


def test_error_unknown_dataset():
    """--dataset with an unknown name lists the valid ones."""
    assert_user_error(run("train", "--dataset", "mnist"), "'mnist'", "iris")


def test_error_both_data_and_dataset(iris_model):
    """DATA and --dataset together are refused (and neither at all)."""
    assert_user_error(run("train", iris_model["csv"], "--dataset", "iris"), "--dataset")
    assert_user_error(run("train"), "--dataset")


def test_error_negative_lr():
    """--lr -1 is outside (0, 10]."""
    assert_user_error(run("train", "--dataset", "iris", "--lr", "-1"), "--lr")


def test_error_unknown_target(tmp_path):
    """--target naming no column of DATA."""
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n")
    assert_user_error(run("train", path, "--target", "label"), "'label'")


def test_error_out_folder_missing(tmp_path):
    """--out into a folder that does not exist fails before training."""
    r = run("train", "--dataset", "iris", "--out", tmp_path / "no" / "m.npz")
    assert_user_error(r, "does not exist")


# ---------------------------------------------------------------------------
# option tables
# ---------------------------------------------------------------------------
def _choices(command, name):
    (param,) = [p for p in command.params if p.name == name]
    return tuple(param.type.choices)


def test_option_tables_match_kernels_and_params():
    """The CLI's choices are exactly the kernels' and fastnn.params' tables."""
    from cli.main import diagnose, train
    from fastnn import params
    from kernels.activations import HIDDEN_ACTIVATIONS
    from kernels.optim import OPTIMIZERS
    assert options.ACTIVATIONS == tuple(HIDDEN_ACTIVATIONS)
    assert options.OPTIMIZERS == tuple(OPTIMIZERS)
    assert options.TASKS == params.TASKS
    assert options.INITS == params.INITS
    assert options.ENGINES == params.ENGINES
    from fastnn.network import MODE_TEXT, MODES
    assert set(params.ENGINES) == {"auto", *MODES} and set(MODE_TEXT) == set(MODES)
    # ... and the commands really use them
    assert _choices(train, "activation") == options.ACTIVATIONS
    assert _choices(train, "optimizer") == options.OPTIMIZERS
    assert _choices(train, "task") == options.TASKS
    assert _choices(train, "init") == options.INITS
    assert _choices(train, "dtype") == params.DTYPES
    assert _choices(train, "engine") == _choices(diagnose, "engine") == options.ENGINES
    assert _choices(diagnose, "compare") == options.ACTIVATIONS


# ---------------------------------------------------------------------------
# the installed console script, as a real subprocess
# ---------------------------------------------------------------------------
def test_console_script_train_then_predict(tmp_path):
    """The installed `fastnn` script trains on iris and predicts, exit status 0."""
    script = shutil.which("fastnn", path=os.path.dirname(sys.executable))
    expected = os.path.join(os.path.dirname(sys.executable), "fastnn")
    if script is None:
        pytest.fail(f"console script not installed at {expected}: run `pip install -e .` "
                    "in this environment")
    model = tmp_path / "model.npz"
    p = subprocess.run([script, "train", "--dataset", "iris", "--epochs", "20", "--out",
                        str(model)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "model saved to" in p.stdout and model.exists()
    assert "epoch 20/20" in p.stderr or "early stopping" in p.stdout

    data = fastnn.load_dataset("iris")
    csv_path = write_table(tmp_path / "iris.csv", data.X, data.y, data.feature_names,
                           "species")
    p = subprocess.run([script, "predict", str(model), csv_path, "--proba"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    header, rows = parse_csv(p.stdout)
    assert header[0] == "prediction" and len(header) == 4
    assert len(rows) == 150 and {r[0] for r in rows} <= set(IRIS_CLASSES)

    p = subprocess.run([script, "predict", str(model), str(tmp_path / "missing.csv")],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "missing.csv" in p.stderr


def test_outputs_never_overwrite_inputs(tmp_path):
    """train --out and predict --out that resolve to an input file are refused; the input survives."""
    from click.testing import CliRunner
    from cli.main import fastnn as cli
    rng = np.random.default_rng(0)
    data = tmp_path / "d.npz"
    np.savez(data, X=rng.standard_normal((40, 3)), y=np.arange(40) % 2)
    before = data.read_bytes()
    r = CliRunner().invoke(cli, ["train", str(data), "--epochs", "1", "--out", str(tmp_path / "d")])
    assert r.exit_code == 2 and "would destroy it" in r.output
    assert data.read_bytes() == before
    model = tmp_path / "m.npz"
    r = CliRunner().invoke(cli, ["train", str(data), "--epochs", "1", "-q", "--out", str(model)])
    assert r.exit_code == 0, r.output
    saved = model.read_bytes()
    for out in (model, data):
        r = CliRunner().invoke(cli, ["predict", str(model), str(data), "--out", str(out)])
        assert r.exit_code == 2 and "would destroy it" in r.output
    assert model.read_bytes() == saved and data.read_bytes() == before


def test_bad_output_places_fail_before_training(tmp_path):
    """--out/--plot into a missing folder or with an unknown plot format: one line, exit 2."""
    from click.testing import CliRunner
    from cli.main import fastnn as cli
    cases = [["--out", str(tmp_path / "nodir" / "m.npz")],
             ["--plot", str(tmp_path / "p.xyz")],
             ["--hidden", "8x0"], ["--hidden", "8x-2,4"]]
    for extra in cases:
        r = CliRunner().invoke(cli, ["train", "--dataset", "iris", "--epochs", "1", *extra])
        assert r.exit_code == 2, (extra, r.output)
        assert r.output.count("\n") == 1 and "Traceback" not in r.output
        assert "epoch" not in r.output


@pytest.mark.filterwarnings("ignore::fastnn.FastnnWarning")
def test_damaged_model_files_are_one_line_errors(tmp_path):
    """A truncated model, a renamed .npy and random bytes: DataError naming the file."""
    import fastnn
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), np.arange(40) % 2
    path = fastnn.MLP(hidden=(4,)).fit(X, y, epochs=1).save(tmp_path / "m.npz")
    full = open(path, "rb").read()
    (tmp_path / "trunc.npz").write_bytes(full[: len(full) // 2])
    np.save(tmp_path / "arr.npy", np.zeros(3))
    (tmp_path / "arr.npy").rename(tmp_path / "arr.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    for name in ("trunc.npz", "arr.npz", "junk.npz"):
        with pytest.raises(fastnn.DataError, match=name):
            fastnn.load(tmp_path / name)


def test_plot_without_matplotlib_is_one_clear_line(tmp_path, monkeypatch):
    """--plot when matplotlib cannot be imported: one line naming the extra, before any training."""
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    for cmd in (["train", "--dataset", "iris", "--epochs", "1"],
                ["diagnose", "--dataset", "iris", "--epochs", "1"]):
        r = CliRunner().invoke(cli, [*cmd, "--plot", str(tmp_path / "p.png"),
                                     "--out", str(tmp_path / "m.npz")] if cmd[0] == "train"
                               else [*cmd, "--plot", str(tmp_path / "p.png")])
        assert r.exit_code == 1, r.output
        assert "matplotlib" in r.output and "fastnn[plot]" in r.output
        assert r.output.count("\n") == 1 and "epoch" not in r.output
    assert not (tmp_path / "m.npz").exists()


def test_diagnose_table_names_vanishing_layers():
    """fastnn diagnose prints one row per layer and marks sigmoid layers below 1e-8 with '!'."""
    r = CliRunner().invoke(cli, ["diagnose", "--dataset", "breast_cancer", "--hidden", "8x15",
                                 "--activation", "sigmoid", "--compare", "relu", "--epochs", "1"])
    assert r.exit_code == 0, r.output
    rows = [line for line in r.output.splitlines() if line[:2].strip().isdigit()]
    assert len(rows) == 16
    sig_flags = [row.split("|")[1].split()[1] == "!" for row in rows]
    relu_flags = ["!" in row.split("|")[2] for row in rows]
    assert sum(sig_flags) >= 3 and all(sig_flags[:3]) and not any(relu_flags)
    assert "sigmoid (xavier init)" in r.output and "relu (he init)" in r.output


def test_train_and_diagnose_plots_are_written(tmp_path):
    """--plot writes a PNG (loss curves + gradient heat map) for train and one per diagnosis."""
    out = tmp_path / "t.png"
    r = CliRunner().invoke(cli, ["train", "--dataset", "iris", "--epochs", "3", "-q",
                                 "--out", str(tmp_path / "m.npz"), "--plot", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    d = tmp_path / "d.png"
    r = CliRunner().invoke(cli, ["diagnose", "--dataset", "iris", "--epochs", "2", "--compare",
                                 "tanh", "--plot", str(d)])
    assert r.exit_code == 0, r.output
    assert d.exists() and (tmp_path / "d-tanh.png").exists()


def test_train_engine_option_forces_the_mode(tmp_path):
    """--engine split is used as asked and named in the summary; a bad value is one usage line."""
    r = run("train", "--dataset", "iris", "--epochs", "2", "-q", "--engine", "split",
            "--out", tmp_path / "m.npz")
    assert r.exit_code == 0, r.output
    assert "engine: split (each batch split in two halves on two threads)" in r.stdout
    r = run("train", "--dataset", "iris", "--engine", "turbo")
    assert r.exit_code == 2 and "Invalid value for '--engine'" in r.output


def test_datasets_export_writes_a_csv_that_reads_back(tmp_path):
    """datasets --export NAME writes the dataset as CSV; reading it back gives the same table."""
    out = tmp_path / "wine.csv"
    r = run("datasets", "--export", "wine", "--out", out)
    assert r.exit_code == 0, r.output
    assert f"rows of wine written to {out}" in r.stdout
    want = fastnn.load_dataset("wine")
    got = fastnn.read_csv(str(out), target=want.target)
    assert got.feature_names == want.feature_names
    np.testing.assert_array_equal(got.X, want.X)
    np.testing.assert_array_equal(got.y, want.y)
    r = run("datasets", "--export", "nosuch", "--out", tmp_path / "x.csv")
    assert r.exit_code == 1 and "no dataset named 'nosuch'" in r.output
    assert not (tmp_path / "x.csv").exists()


def test_ctrl_c_during_compilation_is_deferred_then_stops_the_command():
    """Inside Numba's compiler a KeyboardInterrupt broke the compiler's state (tracebacks, or
    swallowed so the model was saved): the handler records it, waits for the compiler lock,
    then interrupts; check() stops before writing; outside compilation it raises at once."""
    import signal
    import time

    from numba.core.compiler_lock import global_compiler_lock

    from cli.main import _Interrupts
    interrupts = _Interrupts()
    with global_compiler_lock:
        interrupts.handler(signal.SIGINT, None)           # returns: deferred
        assert interrupts.seen
        time.sleep(0.05)                                   # still compiling: nothing raised
    with pytest.raises(KeyboardInterrupt):                 # the watcher's interrupt arrives
        for _ in range(500):
            time.sleep(0.01)
    with pytest.raises(KeyboardInterrupt):
        interrupts.check()
    with pytest.raises(KeyboardInterrupt):
        _Interrupts().handler(signal.SIGINT, None)


def test_ctrl_c_while_training_exits_130_and_saves_nothing(tmp_path):
    """A real SIGINT to `fastnn train` in training: one line, exit code 130, no model file."""
    import os
    import signal
    import subprocess
    import sys
    import time
    out = tmp_path / "m.npz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "train", "--dataset", "digits", "--epochs", "1000000",
         "--patience", "0", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:                      # wait for training to be under way
            line = proc.stderr.readline()
            if line.startswith("epoch"):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "interrupted: stopped before saving anything" in err and "Traceback" not in err
    assert not out.exists() and not os.path.exists(str(out) + ".tmp")
