"""CSV datasets (``data.dataset: csv``): reading, label encoding, standardizing, holdout split.

A CSV file has a header row naming its columns; one column holds the label and every
other column is a numeric feature. Labels may be integers or strings: when every label
in the file is an integer the classes are those integers in numeric order, written as
strings (``"0", "1", ..., "10"``); otherwise the classes are the distinct label strings in
sorted order. Files are read as UTF-8 (a byte-order mark is ignored).

Reading is done by the ``csv`` module whenever something needs a precise error message;
plain unquoted files, the common case, take a fast path through NumPy's C parser first.
"""

from __future__ import annotations

import csv
import difflib
import io
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from .dataset import Dataset, Split
from .holdout import check_classes_present, split_test

if TYPE_CHECKING:
    from ..config import DataConfig


@dataclass(frozen=True)
class Table:
    """A labelled CSV dataset.

    Attributes
    ----------
    x : ndarray of float32, shape (n, d)
        Features, in the column order of ``features``.
    y : ndarray of int64, shape (n,)
        Class indices into ``classes``.
    classes : list of str, length k
        Class names.
    features : list of str, length d
        Feature column names.
    """

    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    features: list[str]

    def __repr__(self) -> str:
        n, d = self.x.shape
        return f"Table(n={n}, features={d}, classes={len(self.classes)})"


def read_csv(
    path: str | Path, label_column: str = "label", classes: Sequence[str] | None = None
) -> Table:
    """Read a labelled CSV file.

    Parameters
    ----------
    path : str or Path
        CSV file with a header row.
    label_column : str
        Name of the column holding the labels; every other column is a feature.
    classes : sequence of str, optional
        Class names to encode the labels with, e.g. those of the training file when
        reading the test file. A label that is not among them is an error. When omitted,
        the classes are derived from the labels (see the module docstring).

    Returns
    -------
    Table
        ``x`` float32 (n, d), ``y`` int64 (n,), ``classes``, ``features``.

    Raises
    ------
    DataError
        The file is missing, empty, has no label column, a ragged or non-numeric row, no
        data rows, or a label outside ``classes``; the message names the file and the
        line or column at fault.
    """
    path = Path(path)
    header, body = _read_text(path)
    label_idx = _column_index(path, header, label_column, "label column")
    feature_idx = [i for i in range(len(header)) if i != label_idx]
    if not feature_idx:
        raise DataError(f"{path}: no feature columns besides the label column '{label_column}'")
    x, labels, line_of = _parse_body(path, header, body, feature_idx, label_idx)
    assert labels is not None
    y, names = _encode_labels(path, labels, label_column, classes, line_of)
    return Table(x=x, y=y, classes=names, features=[header[i] for i in feature_idx])


def read_feature_csv(path: str | Path, features: Sequence[str]) -> np.ndarray:
    """Read the feature columns of a CSV file, e.g. rows to predict.

    Columns are matched by name and returned in the order of ``features``; any other
    column (a label, an id) is ignored.

    Parameters
    ----------
    path : str or Path
        CSV file with a header row.
    features : sequence of str, length d
        Feature column names the model was trained on.

    Returns
    -------
    ndarray of float32, shape (n, d)

    Raises
    ------
    DataError
        The file is unreadable, lacks one of ``features``, or holds a bad value.
    """
    path = Path(path)
    header, body = _read_text(path)
    feature_idx = [_column_index(path, header, name, "feature column") for name in features]
    x, _, _ = _parse_body(path, header, body, feature_idx, None)
    return x


# --- reading ---------------------------------------------------------------------------

def load(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False) -> Dataset:
    """The labelled CSV file ``data.path`` (and ``data.test_path``) as a tabular dataset."""
    path = Path(cfg.path)
    train = read_csv(path, cfg.label_column, classes=classes)
    if cfg.test_path:
        test = read_csv(Path(cfg.test_path), cfg.label_column, classes=train.classes)
        if test.features != train.features:
            raise DataError(f"{cfg.test_path}: feature columns differ from {path} "
                            f"({len(test.features)} vs {len(train.features)} columns, or another order)")
        tr, te = Split(train.x, train.y), Split(test.x, test.y)
    else:
        tr, te = split_test(Split(train.x, train.y), cfg.test_size, seed)
    if classes is None:
        check_classes_present(tr.y, train.classes, str(path))
    return Dataset(train=tr, val=None, test=te, classes=train.classes,
                   input={"kind": "tabular", "features": train.features}, scale=1.0)


_LineOf = Callable[[int], int]
"""Maps a data row index to its 1-based line number in the file."""


def _read_text(path: Path) -> tuple[list[str], str]:
    """Read the file; return its header fields and the text after the header line."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    head, _, body = text.partition("\n")
    if not head.strip():
        raise DataError(f"{path}: file is empty; expected a header row")
    header = [h.strip() for h in next(csv.reader([head]))]
    for i, name in enumerate(header):
        if not name:
            raise DataError(
                f"{path}: column {i + 1} of the header has no name "
                "(an index column? write the CSV without it)"
            )
    dup = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if dup is not None:
        raise DataError(f"{path}: column '{dup}' appears twice in the header")
    return header, body


def _column_index(path: Path, header: list[str], name: str, what: str) -> int:
    """Index of column ``name``, or a DataError with a did-you-mean and the columns."""
    if name in header:
        return header.index(name)
    by_case = [h for h in header if h.lower() == name.lower()]
    close = by_case or difflib.get_close_matches(name, header, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    shown = ", ".join(header[:8]) + (f", ... ({len(header)} columns)" if len(header) > 8 else "")
    raise DataError(f"{path}: no {what} '{name}'{hint} columns: {shown}")


def _parse_body(
    path: Path, header: list[str], body: str, feature_idx: list[int], label_idx: int | None
) -> tuple[np.ndarray, list[str] | None, _LineOf]:
    """Parse the data rows into float32 features (n, d), label strings, and a row->line map."""
    try:
        x, labels, line_of = _parse_fast(header, body, feature_idx, label_idx)
    except (_NotFast, ValueError):
        x, labels, line_of = _parse_slow(path, header, body, feature_idx, label_idx)
    if x.shape[0] == 0:
        raise DataError(f"{path}: header but no data rows")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        i, j = bad[0]
        raise DataError(
            f"{path}: line {line_of(i)}, column '{header[feature_idx[j]]}': "
            f"value {x[i, j]} is not a finite number"
        )
    return x, labels, line_of


class _NotFast(Exception):
    """The fast path cannot read this file exactly like the csv module would."""


def _parse_fast(
    header: list[str], body: str, feature_idx: list[int], label_idx: int | None
) -> tuple[np.ndarray, list[str] | None, _LineOf]:
    """Unquoted, well-formed files through ``np.loadtxt``; raises to hand over otherwise."""
    if '"' in body:
        raise _NotFast
    all_lines = body.split("\n")
    keep = np.flatnonzero(np.fromiter(map(bool, all_lines), dtype=bool, count=len(all_lines)))
    lines = [all_lines[i] for i in keep]
    if not lines:
        raise _NotFast
    commas = np.fromiter((s.count(",") for s in lines), dtype=np.int64, count=len(lines))
    if np.any(commas != len(header) - 1):
        raise _NotFast  # ragged: let the csv path name the line
    x: np.ndarray
    try:
        # Integers parse ~5x faster than floats, and pixel data are integers.
        x = np.loadtxt(lines, np.int32, comments=None, delimiter=",", usecols=feature_idx, ndmin=2)
        x = x.astype(np.float32)
    except (ValueError, OverflowError):
        x = np.loadtxt(
            lines, np.float32, comments=None, delimiter=",", usecols=feature_idx, ndmin=2
        )
    labels = None
    if label_idx is not None:
        labels = [s.split(",", label_idx + 1)[label_idx].strip() for s in lines]
    return x, labels, lambda i: int(keep[i]) + 2


def _parse_slow(
    path: Path, header: list[str], body: str, feature_idx: list[int], label_idx: int | None
) -> tuple[np.ndarray, list[str] | None, _LineOf]:
    """The csv module, row by row, with messages naming the line and column at fault."""
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(body))
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != width:
                raise DataError(
                    f"{path}: line {reader.line_num + 1} has {len(row)} fields, "
                    f"the header has {width}"
                )
            rows.append(row)
            lines.append(reader.line_num + 1)
    except csv.Error as err:
        raise DataError(f"{path}: line {reader.line_num + 1}: {err}") from None
    get = operator.itemgetter(*feature_idx)
    feats = [get(r) for r in rows] if len(feature_idx) > 1 else [(get(r),) for r in rows]
    try:
        x = np.array(feats, dtype=np.float32).reshape(len(rows), len(feature_idx))
    except ValueError:
        i, j = _first_bad_cell(feats)
        v = feats[i][j]
        shown = f"'{v}' is not a number" if v.strip() else "empty value"
        raise DataError(
            f"{path}: line {lines[i]}, column '{header[feature_idx[j]]}': {shown}"
        ) from None
    labels = None if label_idx is None else [r[label_idx].strip() for r in rows]
    return x, labels, lambda i: lines[i]


def _first_bad_cell(feats: list[tuple[str, ...]]) -> tuple[int, int]:
    """(row, column) of the first string NumPy cannot read as float32."""
    for i, values in enumerate(feats):
        try:
            np.array(values, dtype=np.float32)
        except ValueError:
            for j, v in enumerate(values):
                try:
                    np.float32(v)
                except ValueError:
                    return i, j
    raise AssertionError("np.array rejected a row whose cells all parse")


def _encode_labels(
    path: Path,
    labels: list[str],
    label_column: str,
    classes: Sequence[str] | None,
    line_of: _LineOf,
) -> tuple[np.ndarray, list[str]]:
    """Map label strings to class indices (n,) int64; return them with the class names."""
    raw = np.array(labels, dtype=str)
    empty = np.flatnonzero(raw == "")
    if empty.size:
        raise DataError(f"{path}: line {line_of(empty[0])}: empty label in column '{label_column}'")
    try:
        keys: np.ndarray = raw.astype(np.int64)  # all integers: classes in numeric order
    except (ValueError, OverflowError):
        keys = raw
    uniq, inverse = np.unique(keys, return_inverse=True)
    names = [str(u) for u in uniq]
    if classes is None:
        return inverse.astype(np.int64).reshape(-1), names
    classes = [str(c) for c in classes]
    lookup = {c: i for i, c in enumerate(classes)}
    if len(lookup) != len(classes):
        raise ValueError("classes must be distinct")
    codes = np.array([lookup.get(name, -1) for name in names], dtype=np.int64)
    if np.any(codes < 0):
        j = int(np.flatnonzero(codes < 0)[0])
        row = int(np.argmax(inverse.reshape(-1) == j))
        known = ", ".join(classes[:12]) + (", ..." if len(classes) > 12 else "")
        raise DataError(
            f"{path}: line {line_of(row)}: label '{names[j]}' is not one of the "
            f"{len(classes)} training classes ({known})"
        )
    return codes[inverse.reshape(-1)], classes
