"""Reading tables: CSV with a header row, and ``.npz`` files holding X and y.

Every error names the file, and for CSV the line and column, and says what
was expected.
"""
import csv
import gzip
import os
from dataclasses import dataclass, field

import numpy as np

from .exceptions import DataError

MISSING = {"", "na", "nan", "null", "none", "?"}


@dataclass
class Table:
    """Numeric features X (N, n_features) float64, target y (N,) or None."""
    X: np.ndarray
    y: np.ndarray = None
    feature_names: list = field(default_factory=list)
    target: str = None
    source: str = ""


def _target_array(values):
    """Numbers when every value parses as one (integers when all are whole),
    else the strings themselves."""
    try:
        y = np.array([float(v) for v in values])
    except ValueError:
        return np.array(values, dtype=str)
    if np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.abs(y).max(initial=0) < 2**53:
        return y.astype(np.int64)
    return y


def parse_csv(stream, source, target=None, features=None, require_target=True):
    """Parse an open text stream of CSV; see :func:`read_csv`."""
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{source}: the file is empty (expected a header row)") from None
    except csv.Error as e:
        raise DataError(f"{source}, line 1: {e}") from None
    if not header or not any(h.strip() for h in header):
        raise DataError(f"{source}, line 1: empty line where the header row was expected")
    header = [h.strip() for h in header]
    seen = set()
    for i, h in enumerate(header):
        if not h:
            raise DataError(f"{source}, line 1: column {i + 1} has an empty name")
        if h in seen:
            raise DataError(f"{source}, line 1: column name {h!r} appears twice")
        seen.add(h)
    if target is None and require_target and features is None:
        target = header[-1]
    if target is not None and target not in seen:
        if require_target:
            raise DataError(f"{source}: no column named {target!r} for the target "
                            f"(columns: {', '.join(header)})")
        target = None
    if features is None:
        features = [h for h in header if h != target]
        if not features:
            raise DataError(f"{source}: no feature columns besides the target {target!r}")
    else:
        if isinstance(features, str):
            raise TypeError("features must be a list of column names, not a string")
        missing = [f for f in features if f not in seen]
        if missing:
            raise DataError(f"{source}: missing feature column(s) {', '.join(missing)} "
                            f"(columns: {', '.join(header)})")
    cols = [header.index(f) for f in features]
    tcol = header.index(target) if target is not None else None
    rows, ys = [], []
    for row in reader:
        line = reader.line_num
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise DataError(f"{source}, line {line}: {len(row)} cells, expected "
                            f"{len(header)} as in the header")
        vals = []
        for c in cols:
            cell = row[c].strip()
            try:
                v = float(cell)
            except ValueError:
                v = None
            if v is None or v != v or cell.lower() in MISSING:
                what = ("missing value (expected a number)" if cell.lower() in MISSING
                        else f"expected a number, got {cell!r}")
                raise DataError(f"{source}, line {line}, column {header[c]!r}: {what}")
            if v in (float("inf"), float("-inf")):
                raise DataError(f"{source}, line {line}, column {header[c]!r}: {cell!r} is "
                                "not finite (expected a finite number)")
            vals.append(v)
        rows.append(vals)
        if tcol is not None:
            t = row[tcol].strip()
            if t.lower() in MISSING:
                raise DataError(f"{source}, line {line}, column {target!r}: missing target value")
            ys.append(t)
    if not rows:
        raise DataError(f"{source}: no data rows after the header")
    X = np.array(rows, dtype=np.float64)
    y = _target_array(ys) if tcol is not None else None
    return Table(X, y, list(features), target, source)


def read_csv(path, target=None, features=None, require_target=True):
    """Read a CSV file with a header row (``.csv.gz`` also works).

    target: name of the target column (default: the last one). features:
    names of the columns to use as inputs, in that order (default: all but the
    target); extra columns are ignored.  With ``require_target=False`` a
    missing target column is allowed (y is then None).
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8-sig") as f:
            return parse_csv(f, path, target, features, require_target)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file (expected CSV)") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read: {e}") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV: {e}") from None


def _number(v):
    """Shortest text that reads back as the same float ('16' rather than '16.0')."""
    text = repr(float(v))
    return text[:-2] if text.endswith(".0") else text


def write_csv(path, table):
    """Write a Table as CSV: a header of the feature names then the target, one row each.

    Written to a temporary file first and renamed, so a failure leaves no half file."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(list(table.feature_names) + ([table.target] if table.y is not None else []))
            for i in range(len(table.X)):
                row = [_number(v) for v in table.X[i]]
                if table.y is not None:
                    y = table.y[i]
                    row.append(y.item() if hasattr(y, "item") else y)
                w.writerow(row)
        os.replace(tmp, path)
    except OSError as e:
        raise DataError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_npz(path, require_target=True, n_features=None):
    """Read arrays ``X`` (N, n_features) and ``y`` (N,) from an .npz file."""
    path = os.fspath(path)
    arrays = load_npz_arrays(path, "an .npz file with arrays X and y")
    if "X" not in arrays:
        raise DataError(f"{path}: no array named 'X' (found: {', '.join(arrays) or 'none'})")
    X = arrays["X"]
    y = arrays.get("y")
    if y is not None and y.ndim == 0:
        raise DataError(f"{path}: y must be a 1-D array with one value per row, got a scalar")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2 or X.dtype.kind not in "fiub":
        raise DataError(f"{path}: X must be a 2-D numeric array, got shape {X.shape} "
                        f"of {X.dtype}")
    X = X.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path}: X[{r}, {c}] is {X[r, c]} (expected a finite number)")
    if y is None and require_target:
        raise DataError(f"{path}: no array named 'y' for the target")
    if y is not None and len(y) != len(X):
        raise DataError(f"{path}: X has {len(X)} rows but y has {len(y)}")
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(f"{path}: X has {X.shape[1]} columns, the model expects {n_features}")
    names = [f"x{i}" for i in range(X.shape[1])]
    return Table(X, y, names, "y" if y is not None else None, path)


def load_npz_arrays(path, what):
    """Every array of an .npz file as a dict, without pickle; DataError for
    anything that is not such a file (truncated, corrupt, a renamed .npy, ...)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise ValueError("a single array, not an .npz archive")
            return {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file (expected {what})") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected {what}") from None
    except ValueError as e:
        msg = str(e)
        if "Object arrays" in msg:
            why = "it holds arrays of Python objects, which are not loaded for safety"
        elif "allow_pickle" in msg:
            why = "unrecognised content: neither a NumPy .npz archive nor a .npy array"
        else:
            why = msg
        raise DataError(f"{path}: not {what} ({why})") from None
    except Exception as e:   # zipfile.BadZipFile, EOFError, OSError, zlib errors ...
        raise DataError(f"{path}: not {what}: the file is damaged or of another kind "
                        f"({type(e).__name__}: {e})") from None


def read_table(path, target=None, features=None, require_target=True):
    """A CSV or .npz file by its extension."""
    if os.fspath(path).lower().endswith(".npz"):
        return read_npz(path, require_target, None if features is None else len(features))
    return read_csv(path, target, features, require_target)
