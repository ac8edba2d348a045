"""Reading data: CSV with a header row, .npz with X and y, bundled datasets; every
error is a DataError naming the file (and, for CSV, the line and column)."""
import re

import numpy as np
import pytest

import fastnn
from fastnn import DataError


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------------------
# CSV: what is read
# ---------------------------------------------------------------------------
def test_csv_default_target_is_last_column(tmp_path):
    """Without target= the last column is y and the others, in order, are X."""
    path = write(tmp_path, "a,b,c\n1,2,0\n3.5,-4,1\n5,6e1,0\n")
    t = fastnn.read_csv(path)
    assert t.feature_names == ["a", "b"]
    assert t.target == "c"
    np.testing.assert_array_equal(t.X, [[1, 2], [3.5, -4], [5, 60]])
    assert t.X.dtype == np.float64
    assert t.y.tolist() == [0, 1, 0] and t.y.dtype.kind == "i"
    assert t.source == path


def test_csv_target_by_name(tmp_path):
    """target='name' takes that column as y, wherever it is; the rest stay X in order."""
    path = write(tmp_path, "label,a,b\nspam,1,2\neggs,3,4\n")
    t = fastnn.read_csv(path, target="label")
    assert t.feature_names == ["a", "b"]
    np.testing.assert_array_equal(t.X, [[1, 2], [3, 4]])
    assert t.y.tolist() == ["spam", "eggs"]


def test_csv_header_is_stripped_and_float_target_kept(tmp_path):
    """Header names are stripped of spaces; a non-integer numeric target stays float."""
    path = write(tmp_path, " a , b ,  y \n1,2,0.5\n3,4,1.25\n")
    t = fastnn.read_csv(path)
    assert t.feature_names == ["a", "b"] and t.target == "y"
    assert t.y.dtype == np.float64 and t.y.tolist() == [0.5, 1.25]


def test_csv_features_select_and_order_columns(tmp_path):
    """features= picks columns in the order given and ignores the others (even text ones)."""
    path = write(tmp_path, "a,note,b,y\n1,hello,2,0\n3,world,4,1\n")
    t = fastnn.read_csv(path, features=["b", "a"], require_target=False)
    np.testing.assert_array_equal(t.X, [[2, 1], [4, 3]])
    assert t.feature_names == ["b", "a"]


def test_csv_blank_lines_skipped(tmp_path):
    """Empty lines between rows are skipped, not read as rows."""
    path = write(tmp_path, "a,y\n1,0\n\n2,1\n\n")
    t = fastnn.read_csv(path)
    assert t.X.shape == (2, 1) and t.y.tolist() == [0, 1]


def test_csv_gz(tmp_path):
    """A .csv.gz file is read like the plain CSV."""
    import gzip
    path = tmp_path / "d.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("a,b,y\n1,2,0\n3,4,1\n")
    t = fastnn.read_csv(path)
    np.testing.assert_array_equal(t.X, [[1, 2], [3, 4]])


# ---------------------------------------------------------------------------
# CSV: errors
# ---------------------------------------------------------------------------
def _error(path, **kw):
    with pytest.raises(DataError) as info:
        fastnn.read_csv(path, **kw)
    msg = str(info.value)
    assert path in msg, msg                      # every message names the file
    assert "\n" not in msg, msg                  # and is one line
    return msg


def test_csv_non_numeric_cell_names_line_and_column(tmp_path):
    """A non-numeric feature cell: the message gives the file, line 4, column 'height'."""
    path = write(tmp_path, "width,height,y\n1,2,0\n3,4,1\n5,tall,0\n7,8,1\n")
    msg = _error(path)
    assert re.search(r"\bline 4\b", msg), msg
    assert "'height'" in msg and "'tall'" in msg
    assert "expected a number" in msg


def test_csv_line_numbers_count_blank_lines(tmp_path):
    """Line numbers are those of the file, blank lines included."""
    path = write(tmp_path, "a,b,y\n1,2,0\n\n\n3,oops,1\n")
    msg = _error(path)
    assert re.search(r"\bline 5\b", msg), msg
    assert "'b'" in msg


@pytest.mark.parametrize("cell", ["", "NA", "nan", "?", "  "])
def test_csv_missing_cell_names_line_and_column(tmp_path, cell):
    """A missing feature cell (empty, NA, nan, ?) is reported with line 3 and column 'b'."""
    path = write(tmp_path, f"a,b,y\n1,2,0\n3,{cell},1\n")
    msg = _error(path)
    assert re.search(r"\bline 3\b", msg), msg
    assert "column 'b'" in msg
    assert "missing" in msg


def test_csv_missing_target_names_line_and_column(tmp_path):
    """A missing target value is reported with its line and the target column."""
    path = write(tmp_path, "a,b,y\n1,2,0\n3,4,\n")
    msg = _error(path)
    assert re.search(r"\bline 3\b", msg) and "'y'" in msg and "missing" in msg


def test_csv_infinite_cell(tmp_path):
    """'inf' is not accepted as a feature value."""
    path = write(tmp_path, "a,y\n1,0\ninf,1\n")
    msg = _error(path)
    assert re.search(r"\bline 3\b", msg) and "'a'" in msg and "finite" in msg


def test_csv_ragged_row(tmp_path):
    """A row with a different number of cells than the header names its line and counts."""
    path = write(tmp_path, "a,b,y\n1,2,0\n3,4,5,1\n")
    msg = _error(path)
    assert re.search(r"\bline 3\b", msg) and "4 cells" in msg and "expected 3" in msg
    path = write(tmp_path, "a,b,y\n1,2,0\n3,1\n", "short.csv")
    msg = _error(path)
    assert re.search(r"\bline 3\b", msg) and "2 cells" in msg


def test_csv_empty_file(tmp_path):
    """An empty file says so (it expects a header row)."""
    msg = _error(write(tmp_path, ""))
    assert "empty" in msg and "header" in msg


def test_csv_header_only(tmp_path):
    """A header without data rows is an error."""
    msg = _error(write(tmp_path, "a,b,y\n"))
    assert "no data rows" in msg


def test_csv_unknown_target_column(tmp_path):
    """An unknown target name is reported with the columns that exist."""
    path = write(tmp_path, "a,b,y\n1,2,0\n")
    msg = _error(path, target="label")
    assert "'label'" in msg and "a, b, y" in msg


def test_csv_unknown_target_allowed_when_not_required(tmp_path):
    """With require_target=False a missing target column gives y None."""
    path = write(tmp_path, "a,b\n1,2\n")
    t = fastnn.read_csv(path, target="y", features=["a", "b"], require_target=False)
    assert t.y is None and t.X.shape == (1, 2)


def test_csv_missing_feature_column(tmp_path):
    """A feature column the caller needs but the file lacks is named."""
    path = write(tmp_path, "a,y\n1,0\n")
    msg = _error(path, features=["a", "petal_width"], require_target=False)
    assert "petal_width" in msg


def test_csv_duplicate_header_names(tmp_path):
    """Two columns with the same name are refused (line 1, the name)."""
    msg = _error(write(tmp_path, "a,b,a,y\n1,2,3,0\n"))
    assert "'a'" in msg and "twice" in msg and re.search(r"\bline 1\b", msg)


def test_csv_empty_header_name(tmp_path):
    """An empty column name in the header is refused with its position."""
    msg = _error(write(tmp_path, "a,,y\n1,2,0\n"))
    assert "column 2" in msg and "empty name" in msg


def test_csv_only_target_column(tmp_path):
    """A file with just the target column has no features: an error."""
    msg = _error(write(tmp_path, "y\n0\n1\n"))
    assert "no feature columns" in msg


def test_csv_missing_file(tmp_path):
    """A path that does not exist is a DataError naming it."""
    msg = _error(str(tmp_path / "nope.csv"))
    assert "no such file" in msg


def test_csv_not_utf8(tmp_path):
    """A binary file is reported as not UTF-8 text."""
    path = tmp_path / "bin.csv"
    path.write_bytes(b"a,b\n\xff\xfe\x00\x81,1\n")
    msg = _error(str(path))
    assert "UTF-8" in msg


# ---------------------------------------------------------------------------
# .npz
# ---------------------------------------------------------------------------
def test_npz_with_X_and_y(tmp_path):
    """An .npz with X and y is read as float64 X and y unchanged."""
    path = str(tmp_path / "d.npz")
    X = np.arange(12, dtype=np.int32).reshape(4, 3)
    y = np.array(["a", "b", "a", "b"])
    np.savez(path, X=X, y=y)
    for t in (fastnn.read_npz(path), fastnn.read_table(path)):
        assert t.X.dtype == np.float64
        np.testing.assert_array_equal(t.X, X)
        assert t.y.tolist() == y.tolist()
        assert t.feature_names == ["x0", "x1", "x2"]


def test_npz_errors(tmp_path):
    """npz without X, without y, with mismatched rows or NaN: DataErrors naming the file."""
    cases = {
        "noX.npz": (dict(Z=np.zeros((2, 2))), "no array named 'X'"),
        "noy.npz": (dict(X=np.zeros((2, 2))), "no array named 'y'"),
        "rows.npz": (dict(X=np.zeros((3, 2)), y=np.zeros(2)), "3 rows but y has 2"),
        "nan.npz": (dict(X=np.array([[1.0, np.nan]]), y=np.zeros(1)), "X[0, 1]"),
    }
    for name, (arrays, expected) in cases.items():
        path = str(tmp_path / name)
        np.savez(path, **arrays)
        with pytest.raises(DataError) as info:
            fastnn.read_npz(path)
        assert path in str(info.value) and expected in str(info.value), str(info.value)
    bad = tmp_path / "text.npz"
    bad.write_text("not a zip")
    with pytest.raises(DataError, match="not an .npz file .*unrecognised content"):
        fastnn.read_npz(str(bad))


def test_read_table_dispatches_on_extension(tmp_path):
    """read_table reads .csv as CSV and .npz as arrays."""
    csv_path = write(tmp_path, "a,y\n1,0\n2,1\n")
    assert fastnn.read_table(csv_path).feature_names == ["a"]
    npz_path = str(tmp_path / "d.npz")
    np.savez(npz_path, X=np.ones((2, 1)), y=np.array([0, 1]))
    assert fastnn.read_table(npz_path).feature_names == ["x0"]


# ---------------------------------------------------------------------------
# Bundled datasets
# ---------------------------------------------------------------------------
SHAPES = {"breast_cancer": (569, 30, 2), "digits": (1797, 64, 10), "iris": (150, 4, 3),
          "wine": (178, 13, 3), "diabetes": (442, 10, None)}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_bundled_dataset_shapes(name):
    """Each bundled dataset has the scikit-learn shape and finite float64 features."""
    rows, cols, n_classes = SHAPES[name]
    t = fastnn.load_dataset(name)
    assert t.X.shape == (rows, cols)
    assert t.y.shape == (rows,)
    assert t.X.dtype == np.float64 and np.all(np.isfinite(t.X))
    assert len(t.feature_names) == cols and len(set(t.feature_names)) == cols
    if n_classes is None:
        assert t.y.dtype.kind == "f" or len(np.unique(t.y)) > 20
    else:
        assert len(np.unique(t.y)) == n_classes


@pytest.mark.parametrize("name, shape", [("xor", (400, 2)), ("moons", (400, 2)),
                                         ("circles", (400, 2)), ("spirals", (600, 2))])
def test_generated_datasets(name, shape):
    """Generated datasets have their shapes and are reproducible by seed."""
    a, b, c = (fastnn.load_dataset(name, seed=s) for s in (0, 0, 1))
    assert a.X.shape == shape and a.y.shape == (shape[0],)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)


def test_unknown_dataset():
    """An unknown dataset name lists the valid ones."""
    with pytest.raises(DataError) as info:
        fastnn.load_dataset("mnist")
    assert "'mnist'" in str(info.value) and "iris" in str(info.value)


def test_describe_datasets():
    """describe_datasets has one entry per name with the right rows, features and task."""
    rows = fastnn.describe_datasets()
    assert [r["name"] for r in rows] == list(fastnn.dataset_names())
    by = {r["name"]: r for r in rows}
    for name, (n, f, _) in SHAPES.items():
        assert (by[name]["rows"], by[name]["features"]) == (n, f)
    assert by["breast_cancer"]["task"] == "binary"
    assert by["digits"]["task"] == "multiclass"
    assert by["diabetes"]["task"] == "regression"
    assert by["iris"]["target"] == "species"
    assert all(r["description"] for r in rows)
