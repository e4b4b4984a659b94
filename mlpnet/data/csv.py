"""CSV datasets (``data.dataset: csv``): reading, label encoding, missing values, categories, pixels.

A CSV file holds one row per sample: a label column, feature columns, and columns to
ignore (``data.ignore_columns``: an id, free text). The delimiter is detected
(``csv.Sniffer``, among comma, semicolon, tab and bar) unless ``data.delimiter`` names it.
The first row names the columns (``data.header: false`` numbers them 0, 1, ... instead; a
first row of numbers is refused with a message naming that option). The label column is
``data.label_column``, a name or an index; when the default ``label`` is absent the last
column is used if it holds few distinct values, and a note says so.

Labels may be integers or strings: when every label is an integer the classes are those
integers in numeric order, written as strings (``"0", "1", ..., "10"``); otherwise the
distinct label strings in sorted order. A feature column whose values are mostly words is
categorical and one-hot encoded (one feature ``column=value`` per category, in sorted
order); the others are numeric. Missing values (empty, ``NA``, ``NaN``, ``?``, ...) are an
error naming the line and column unless ``data.missing`` is ``drop`` (skip such rows) or
``mean`` (fill in the training split's mean; a missing category takes each category's
training frequency). 784 columns of integers in 0..255 (or 784 ``pixel*`` columns) are
28x28 grayscale images. Files are read as UTF-8 (a byte-order mark is ignored).

Well-formed files take a fast path through NumPy's C parser (``np.loadtxt``, which reads
the file in chunks); anything else, and every error message, goes through the ``csv``
module row by row.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from .dataset import MNIST_INPUT, Dataset, Split
from .holdout import check_classes_present, split_test

if TYPE_CHECKING:
    from ..config import DataConfig

MISSING_MODES = ("error", "drop", "mean")
"""``data.missing``: a missing value is an error, drops its row, or takes the training mean."""


DECIMALS = ("auto", ".", ",")
"""``data.decimal``: detected from the file, or the decimal mark its numbers are written with."""
MISSING_TOKENS = ("", "NA", "N/A", "NaN", "nan", "?", "null", "NULL")
"""Cell values read as missing (after stripping spaces)."""
IMAGE_PIXELS = 784
"""A CSV with 784 integer columns in 0..255 (or columns named ``pixel*``) holds 28x28 images."""
MAX_CATEGORIES = 100
"""A word column with more distinct values than this and than half the rows is not a category."""

_PIXEL_NAME = re.compile(r"pixel\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class CsvOptions:
    """How to read a CSV file (the ``data.*`` keys of the same names).

    Attributes
    ----------
    label_column : str or int
        The label column's name, or its index (0 is the first, -1 the last).
    header : bool
        Whether the first row names the columns; without one, columns are numbered 0, 1, ...
    delimiter : str or None
        The field separator; None detects it (``csv.Sniffer``, among ``, ; tab |``).
    ignore_columns : tuple of str or int
        Columns that are neither features nor the label (an id, free text).
    missing : str
        One of :data:`MISSING_MODES`.
    decimal : str
        One of :data:`DECIMALS`: ``auto`` detects a decimal comma (``5,1`` in a file
        separated by semicolons or tabs, as Excel writes in most of Europe).
    """

    label_column: str | int = "label"
    header: bool = True
    delimiter: str | None = None
    ignore_columns: tuple[str | int, ...] = ()
    missing: str = "error"
    decimal: str = "auto"


@dataclass
class Table:
    """A labelled CSV dataset.

    Attributes
    ----------
    x : ndarray, shape (n, d)
        Features in the order of ``features``: float32 (NaN marks a value to fill with the
        training mean under ``missing: mean``), or uint8 pixels when ``image`` is true.
    y : ndarray of int64, shape (n,)
        Class indices into ``classes``.
    classes : list of str, length k
        Class names.
    features : list of str, length d
        Feature names; a categorical column ``c`` becomes one column ``c=value`` per category.
    schema : dict
        What reading new rows needs (JSON-able, stored in checkpoints): ``delimiter``,
        ``header``, ``label``, ``n_columns``, ``columns`` (``name``, ``index``, and
        ``categories`` for categorical ones), ``missing``, ``image``.
    notes : list of str
        One-line remarks on guesses and repairs made while reading.
    """

    x: np.ndarray
    y: np.ndarray
    classes: list[str]
    features: list[str]
    schema: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def image(self) -> bool:
        return bool(self.schema.get("image"))

    def __repr__(self) -> str:
        n, d = self.x.shape
        return f"Table(n={n}, features={d}, classes={len(self.classes)})"


def read_csv(
    path: str | Path,
    label_column: str | int = "label",
    classes: Sequence[str] | None = None,
    *,
    options: CsvOptions | None = None,
    schema: dict | None = None,
) -> Table:
    """Read a labelled CSV file.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    label_column : str or int
        Shorthand for ``options.label_column`` when ``options`` is not given.
    classes : sequence of str, optional
        Class names to encode the labels with, e.g. those of the training file when
        reading the test file. A label that is not among them is an error. When omitted,
        the classes are derived from the labels (see the module docstring).
    options : CsvOptions, optional
        Delimiter, header, ignored columns, missing values.
    schema : dict, optional
        The training file's ``Table.schema``: columns are then read as they were there
        (same features, types and categories).

    Returns
    -------
    Table

    Raises
    ------
    DataError
        The file is missing, empty, has no label column, a ragged or bad row, no data
        rows, a missing value (unless ``options.missing`` says otherwise), or a label
        outside ``classes``; the message names the file and the line or column at fault.
    """
    path = Path(path)
    opts = options or CsvOptions(label_column=label_column)
    if opts.missing not in MISSING_MODES:
        raise ValueError(f"missing must be one of {MISSING_MODES}, got {opts.missing!r}")
    lay = _sniff(path, opts)
    notes: list[str] = list(lay.notes)
    if schema is None:
        label_idx, note = _label_index(path, lay, opts.label_column)
        if note:
            notes.append(note)
        ignored = _ignored(path, lay, opts.ignore_columns) - {label_idx}
        feature_idx = [i for i in range(len(lay.names)) if i != label_idx and i not in ignored]
        kinds = None
    else:
        if "label" in schema:
            label_idx = _label_index(path, lay, schema["label"] if lay.header else schema["label_index"])[0]
        else:  # a model fitted on arrays: the label column is the option's (or guessed)
            label_idx, note = _label_index(path, lay, opts.label_column)
            if note:
                notes.append(note)
        feature_idx = _schema_columns(path, lay, schema, label_idx=label_idx)
        kinds = [c.get("categories") for c in schema["columns"]]
    if not feature_idx:
        raise DataError(f"{path}: no feature columns besides the label column '{lay.names[label_idx]}'")
    parsed, labels, line_of = _parse_body(path, lay, feature_idx, label_idx, kinds)
    notes += parsed.notes
    mode = opts.missing if schema is None else schema.get("missing", opts.missing)
    keep, note = _missing(path, parsed, labels, line_of, mode)
    if note:
        notes.append(note)
    if keep is not None:
        parsed, labels, line_of = parsed.take(keep), labels[keep], _remapped(line_of, keep)
        if len(labels) == 0:
            raise DataError(f"{path}: no rows left: every row has a missing value")
    y, names = _encode_labels(path, labels, lay.names[label_idx], classes, line_of)
    x, features = parsed.assemble()
    image = _looks_like_images(x) if schema is None else bool(schema.get("image"))
    if image:
        x = x if x.dtype == np.uint8 else x.astype(np.uint8)
        if schema is None:
            notes.append(f"{path.name}: {IMAGE_PIXELS} pixel columns of integers 0-255, read as 28x28 grayscale "
                         "images (scaled to [0, 1], not standardized)")
    new_schema = schema or {
        "delimiter": lay.delimiter, "header": lay.header, "label": lay.names[label_idx], "label_index": label_idx,
        "n_columns": len(lay.names), "missing": mode, "image": image,
        "columns": parsed.describe(),
    }
    return Table(x=x, y=y, classes=names, features=features, schema=new_schema, notes=notes)


@dataclass
class Rows:
    """Rows to predict: features, an id per row, and the id column's name (None: none in the file)."""

    x: np.ndarray
    ids: list[str]
    id_column: str | None
    notes: list[str] = field(default_factory=list)


def read_rows(path: str | Path, schema: dict | None, features: Sequence[str] | None = None, *,
              positional: bool = False) -> Rows:
    """Read the feature columns of a CSV file to predict, as the training file's schema says.

    Columns are matched by name when the file has a header row (other columns, a label
    or an id, are ignored), by position when it has none (the training file's width, or
    just the feature columns). A missing value is filled with the training mean (NaN in
    the result, filled when standardizing) if the model was trained with ``data.missing``
    ``drop`` or ``mean``, else an error. A category not seen in training counts as missing.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    schema : dict or None
        ``Table.schema`` stored in the checkpoint; None for models without one (fitted on
        arrays, or older checkpoints), which record only feature names (``features``).
    features : sequence of str, optional
        Feature names, used when ``schema`` is None.
    positional : bool
        The model has no real column names (it was fitted on a bare array): the file's
        columns are read by position, whatever its header says.

    Returns
    -------
    Rows
        ``x`` float32 (n, d) (uint8 (n, 784) for image models), ids, id column name.
    """
    path = Path(path)
    lay = _sniff(path, CsvOptions(header=True), auto_header=True)
    notes: list[str] = list(lay.notes)
    if schema is None:
        schema = features_schema(features or [], positional=positional or _invented(features, lay))
        if schema["positional"] and lay.header:
            notes.append(f"{path.name}: the model was fitted without column names, so the {len(lay.names)} "
                         "columns are read by position (the header's names are not checked)")
    feature_idx = _schema_columns(path, lay, schema, predicting=True)
    kinds = [c.get("categories") for c in schema["columns"]]
    parsed, _, line_of = _parse_body(path, lay, feature_idx, None, kinds)
    notes += parsed.notes
    mode = schema.get("missing", "error")
    _, note = _missing(path, parsed, None, line_of, mode, predicting=True)
    x, _ = parsed.assemble()
    if schema.get("image"):
        x = x if x.dtype == np.uint8 else x.astype(np.uint8)
    ids, id_name = _ids(path, lay, set(feature_idx), parsed.n)
    return Rows(x=x, ids=ids, id_column=id_name, notes=notes + ([note] if note else []))


def features_schema(features: Sequence[str], *, positional: bool = False) -> dict:
    """A schema for a model that records only its numeric feature names (fitted on arrays or a DataFrame).

    With ``positional`` (no real names), a file's columns are taken by position."""
    return {"header": not positional, "positional": positional, "missing": "error", "image": False,
            "n_columns": None, "columns": [{"name": str(f), "index": None} for f in features]}


def _invented(features: Sequence[str] | None, lay: _Layout) -> bool:
    """Names ``x0, x1, ...`` that an older checkpoint invented for a bare array, and the file lacks."""
    names = list(features or [])
    return bool(names) and names == [f"x{i}" for i in range(len(names))] and not set(names) <= set(lay.names)


def read_feature_csv(path: str | Path, features: Sequence[str]) -> np.ndarray:
    """Read the named numeric feature columns of a CSV file (other columns are ignored)."""
    return read_rows(path, None, features).x


def read_pixel_rows(path: str | Path) -> Rows:
    """Rows of 784 pixels (0-255) to predict with an image model: Kaggle's ``test.csv`` and the like.

    The pixel columns are those named ``pixel*`` when there are 784 of them, else every
    column of a 784-column file, else the 784 columns after the first of a 785-column file
    (a label or id first, as in the training files).
    """
    path = Path(path)
    lay = _sniff(path, CsvOptions(header=True), auto_header=True)
    names = lay.names
    pixel = [i for i, n in enumerate(names) if _PIXEL_NAME.match(n)] if lay.header else []
    if len(pixel) != IMAGE_PIXELS:
        if len(names) == IMAGE_PIXELS:
            pixel = list(range(IMAGE_PIXELS))
        elif len(names) == IMAGE_PIXELS + 1:
            pixel = list(range(1, IMAGE_PIXELS + 1))
        else:
            raise DataError(f"{path}: this model reads 28x28 images; a CSV of them needs {IMAGE_PIXELS} pixel "
                            f"columns (0-255), this file has {len(names)} columns")
    parsed, _, line_of = _parse_body(path, lay, pixel, None, [None] * len(pixel))
    _missing(path, parsed, None, line_of, "error", predicting=True)
    x, _ = parsed.assemble()
    if x.dtype != np.uint8:
        if x.size and (x.min() < 0 or x.max() > 255 or not np.array_equal(x, np.round(x))):
            raise DataError(f"{path}: pixel values must be integers in 0..255, found {x.min():g}..{x.max():g}")
        x = x.astype(np.uint8)
    ids, id_name = _ids(path, lay, set(pixel), parsed.n)
    return Rows(x=x, ids=ids, id_column=id_name)


# --- reading ---------------------------------------------------------------------------

def load(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False,
         like: dict | None = None) -> Dataset:
    """The labelled CSV file ``data.path`` (and ``data.test_path``): tabular features, or 28x28 images.

    ``like`` is a trained model's input description: the file's columns are then read as
    that model's were (matched by name, or by position for a model fitted on a bare array)."""
    path = Path(cfg.path)
    opts = CsvOptions(label_column=cfg.label_column, header=cfg.header, delimiter=cfg.delimiter,
                      ignore_columns=tuple(cfg.ignore_columns), missing=cfg.missing, decimal=cfg.decimal)
    train = read_csv(path, options=opts, classes=classes, schema=model_schema(like))
    notes = list(train.notes)
    if cfg.test_path:
        test = read_csv(Path(cfg.test_path), options=opts, classes=train.classes, schema=train.schema)
        notes += test.notes
        if test.features != train.features:
            raise DataError(f"{cfg.test_path}: feature columns differ from {path} "
                            f"({len(test.features)} vs {len(train.features)} columns, or another order)")
        tr, te = Split(train.x, train.y), Split(test.x, test.y)
    else:
        tr, te = split_test(Split(train.x, train.y), cfg.test_size, seed)
    if classes is None:
        check_classes_present(tr.y, train.classes, str(path))
    if train.image:
        # Pixels as in MNIST: stored uint8, scaled to [0, 1] per batch, read by predict like any image.
        return Dataset(train=tr, val=None, test=te, classes=train.classes, input=dict(MNIST_INPUT, csv=train.schema),
                       scale=1.0 / 255.0, notes=notes)
    return Dataset(train=tr, val=None, test=te, classes=train.classes,
                   input={"kind": "tabular", "features": train.features, "csv": train.schema}, scale=1.0, notes=notes)


def model_schema(like: dict | None) -> dict | None:
    """The CSV schema to read a file for a trained model with (None: read it as new training data)."""
    if not like:
        return None
    if like.get("csv"):
        return like["csv"]
    if like.get("kind") == "tabular" and like.get("features"):
        names = like["features"]
        return features_schema(names, positional=bool(like.get("positional"))
                               or names == [f"x{i}" for i in range(len(names))])
    return None


_LineOf = Callable[[int], int]
"""Maps a data row index to its 1-based line number in the file."""

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity)$", re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d+$")
_HEAD_BYTES = 1 << 18  # enough lines to detect the delimiter, the header and the column types
_SAMPLE_ROWS = 100


@dataclass
class _Layout:
    """What the head of a file says: delimiter, header, column names and the first rows.

    With ``decimal`` ``,`` the cells of ``sample`` (and of every row read later) that are
    numbers written with a decimal comma are already rewritten with a dot."""

    delimiter: str
    header: bool
    names: list[str]
    sample: list[list[str]]
    decimal: str = "."
    notes: list[str] = field(default_factory=list)


def _sniff(path: Path, opts: CsvOptions, auto_header: bool = False) -> _Layout:
    """Read the head of the file: detect the delimiter, check or detect the header row."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with open(path, "rb") as f:
            raw = f.read(_HEAD_BYTES)
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    if len(raw) == _HEAD_BYTES and b"\n" in raw:
        raw = raw[: raw.rfind(b"\n") + 1]  # whole lines only
    try:
        head = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte {err.start})") from None
    lines = [line for line in head.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: file is empty; expected a header row" if opts.header else f"{path}: file is empty")
    if opts.decimal not in DECIMALS:
        raise ValueError(f"decimal must be one of {DECIMALS}, got {opts.decimal!r}")
    delim = opts.delimiter or _detect_delimiter(lines[:20], opts.decimal)
    if delim == "," and opts.decimal == ",":
        raise DataError(f"{path}: data.decimal ',' needs another delimiter, and the file is separated by commas"
                        + (" (data.delimiter)" if opts.delimiter else "; set data.delimiter (';' or a tab)"))
    try:
        rows = list(csv.reader(lines[: _SAMPLE_ROWS + 1], delimiter=delim))
    except csv.Error as err:
        raise DataError(f"{path}: line 1: {err}") from None
    decimal = opts.decimal if opts.decimal != "auto" else _detect_decimal(rows, delim)
    notes = []
    if decimal == ",":
        rows = [_dotted(r) for r in rows]
        if opts.decimal == "auto":
            notes.append(f"{path.name}: numbers are written with a decimal comma ({_comma_example(lines)}), and read "
                         "as such (set data.decimal to '.' or ',' to choose)")
    first = [c.strip() for c in rows[0]]
    header = opts.header
    if auto_header:
        header = not _looks_like_data(first, rows[1:])
    elif header and _looks_like_data(first, rows[1:]):
        numbers = sum(bool(_NUMBER.match(c)) for c in first)
        raise DataError(f"{path}: the first row looks like data, not column names ({numbers} numbers where the "
                        "other rows have numbers); "
                        "if the file has no header row set data.header: false (columns are then numbered from 0)")
    if not header:
        return _Layout(delim, False, [str(i) for i in range(len(first))], rows, decimal, notes)
    for i, name in enumerate(first):
        if not name:
            raise DataError(f"{path}: column {i + 1} of the header has no name "
                            "(an index column? write the CSV without it)")
    dup = next((h for i, h in enumerate(first) if h in first[:i]), None)
    if dup is not None:
        raise DataError(f"{path}: column '{dup}' appears twice in the header")
    return _Layout(delim, True, first, rows[1:], decimal, notes)


def _detect_delimiter(lines: list[str], decimal: str = "auto") -> str:
    """The delimiter ``csv.Sniffer`` finds among comma, semicolon, tab and bar; comma if none.

    A comma between digits in a file whose lines all split into as many fields on a
    semicolon (or a tab) is a decimal comma, not the delimiter (``5,1;3,5;setosa``): the
    Sniffer alone can pick either, as every line has as many commas as semicolons."""
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        found = ","
    if found != "," or decimal == ".":
        return found
    for other in (";", "\t"):
        try:
            rows = list(csv.reader(lines, delimiter=other))
        except csv.Error:
            continue
        widths = {len(r) for r in rows}
        if len(widths) == 1 and widths.pop() > 1 and all(
                "," not in c or _COMMA_NUMBER.match(c.strip()) for r in rows for c in r):
            return other
    return found


_COMMA_NUMBER = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d*),\d+([eE][+-]?\d+)?$")
"""A number with a decimal comma: ``5,1``, ``-0,25``, ``1.234,5`` (dots group thousands)."""
_DOT_FRACTION = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?$")
_GROUPED_DOTS = re.compile(r"[+-]?\d{1,3}(\.\d{3})+$")
"""``1.234`` or ``12.345.678``: thousands grouped with dots, when the decimal mark is a comma."""


def _detect_decimal(rows: list[list[str]], delimiter: str) -> str:
    """``,`` when some cells are numbers with a decimal comma and none has a decimal dot, else ``.``."""
    if delimiter == ",":
        return "."
    comma = dot = 0
    for row in rows:
        for cell in row:
            c = cell.strip()
            if "," in c and _COMMA_NUMBER.match(c):
                comma += 1
            elif _DOT_FRACTION.match(c) and not _GROUPED_DOTS.match(c):
                dot += 1
    return "," if comma and not dot else "."


def _dotted(row: list[str]) -> list[str]:
    """A row with its decimal-comma numbers written with a dot (``1.234,5`` -> ``1234.5``); other cells as they are."""
    out = []
    for cell in row:
        c = cell.strip()
        if (("," in c and _COMMA_NUMBER.match(c)) or _GROUPED_DOTS.match(c)):
            cell = c.replace(".", "").replace(",", ".")
        out.append(cell)
    return out


def _comma_example(lines: list[str]) -> str:
    for line in lines[1:6]:
        m = re.search(r"\d+,\d+", line)
        if m:
            return f"{m.group(0)} is {m.group(0).replace(',', '.')}"
    return "5,1 is 5.1"


def _numbers(cells: np.ndarray) -> np.ndarray | None:
    """``cells`` (strings) as float64, or None if one is not a number."""
    try:
        return cells.astype(np.float64)
    except ValueError:
        return None


def _integers(cells: np.ndarray) -> np.ndarray | None:
    """``cells`` (strings) as int64, or None if one is not an integer."""
    try:
        return cells.astype(np.int64)
    except (ValueError, OverflowError):
        return None


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text)) or text.lower() == "nan"


def _looks_like_data(first: list[str], rest: list[list[str]]) -> bool:
    """Whether the first row is data rather than column names.

    It is data when it has a number in every column that holds numbers in the rows below
    (``5.1,3.5,setosa`` above rows of the same kind), or, when no column does, when it is
    all numbers; a row numbering the columns 0, 1, 2, ... is pandas' default header."""
    if not first:
        return False
    if len(first) >= 3 and all(_INTEGER.match(c) for c in first) and [int(c) for c in first] == list(range(len(first))):
        return False
    below = [r for r in rest if len(r) == len(first)]
    numeric = [j for j in range(len(first))
               if below and all(_is_number(r[j].strip()) or r[j].strip() in MISSING_TOKENS for r in below)
               and any(_is_number(r[j].strip()) for r in below)]
    if not numeric:
        return all(_NUMBER.match(c) for c in first)
    return all(_NUMBER.match(first[j]) for j in numeric)


def _column_index(path: Path, header: list[str], name: str, what: str, hint: str = "") -> int:
    """Index of column ``name``, or a DataError with a did-you-mean and the columns."""
    if name in header:
        return header.index(name)
    by_case = [h for h in header if h.lower() == name.lower()]
    close = by_case or difflib.get_close_matches(name, header, n=1)
    mean = f"; did you mean '{close[0]}'?" if close else ""
    shown = ", ".join(header[:8]) + (f", ... ({len(header)} columns)" if len(header) > 8 else "")
    raise DataError(f"{path}: no {what} '{name}'{mean}; its columns are: {shown}{hint}")


def _label_index(path: Path, lay: _Layout, option: str | int) -> tuple[int, str | None]:
    """The label column's index, and a note when the default ``label`` was absent and guessed."""
    n = len(lay.names)
    if isinstance(option, str) and not lay.header and re.fullmatch(r"-?\d+", option.strip()):
        option = int(option)
    if isinstance(option, int):
        if not -n <= option < n:
            raise DataError(f"{path}: data.label_column: index {option} is out of range for {n} columns")
        return option % n, None
    if option in lay.names:
        return lay.names.index(option), None
    close = [h for h in lay.names if h.lower() == option.lower()] or difflib.get_close_matches(option, lay.names, n=1)
    if option == "label" and not close:
        guess = _guess_label(lay)
        if guess is not None:
            where = "first" if guess == 0 else "last"
            return guess, (f"{path.name}: no column 'label'; the {where} column '{lay.names[guess]}' holds few "
                           "distinct words or integers, so it is used as the label (set data.label_column to choose)")
    _column_index(path, lay.names, option, "label column",
                  hint="; set data.label_column (a name, or an index: 0 first, -1 last)")
    raise AssertionError("unreachable")


def _guess_label(lay: _Layout) -> int | None:
    """The column that must be the label when none is named: few distinct integers or words.

    The last column, or the first of a 785-column file of pixels (label first, as in
    Kaggle's and most MNIST-as-CSV files)."""
    n = len(lay.names)
    rows = [r for r in lay.sample if len(r) == n]
    if not rows:
        return None
    candidates = [0] if n == IMAGE_PIXELS + 1 else [n - 1]
    for j in candidates:
        if lay.header and _PIXEL_NAME.match(lay.names[j]):
            continue
        values = {r[j].strip() for r in rows}
        if values & set(MISSING_TOKENS):
            continue
        words_or_ints = all(_INTEGER.match(v) or not _is_number(v) for v in values)
        if words_or_ints and len(values) <= max(2, min(50, len(rows) // 2)):
            return j
    return None


def _ignored(path: Path, lay: _Layout, items: Sequence[str | int]) -> set[int]:
    """Indices of the ``data.ignore_columns`` entries (names, or indices)."""
    out = set()
    n = len(lay.names)
    for item in items:
        if isinstance(item, str) and not lay.header and re.fullmatch(r"-?\d+", item.strip()):
            item = int(item)
        if isinstance(item, int):
            if not -n <= item < n:
                raise DataError(f"{path}: data.ignore_columns: index {item} is out of range for {n} columns")
            out.add(item % n)
        else:
            out.add(_column_index(path, lay.names, item, "column", hint=" (in data.ignore_columns)"))
    return out


def _schema_columns(path: Path, lay: _Layout, schema: dict, predicting: bool = False,
                    label_idx: int | None = None) -> list[int]:
    """This file's indices of the schema's feature columns: by name with headers, else by position.

    ``label_idx`` (reading a labelled file for a model without a stored file layout) is
    left out of the positions."""
    columns = schema["columns"]
    if lay.header and schema.get("header", True):
        return [_column_index(path, lay.names, c["name"], "feature column") for c in columns]
    n = len(lay.names)
    if schema.get("positional"):
        rest = [i for i in range(n) if i != label_idx]
        if len(rest) == len(columns):
            return rest
        label = "" if label_idx is None else f" besides the label column '{lay.names[label_idx]}'"
        raise DataError(f"{path}: has {len(rest)} columns{label}; the model was fitted on a bare array of "
                        f"{len(columns)} columns without names, so it reads exactly {len(columns)} columns, "
                        "by position")
    if n == schema.get("n_columns") and all(c.get("index") is not None for c in columns):
        return [c["index"] for c in columns]
    if n == len(columns):
        return list(range(n))
    what = f"{len(columns)} feature columns" + (f" (of {schema['n_columns']})" if schema.get("n_columns") else "")
    raise DataError(f"{path}: has {n} columns and no header row to match by name; the model reads {what}")


class _NotFast(Exception):
    """The fast path cannot read this file exactly like the csv module would."""


@dataclass
class _Parsed:
    """Feature columns as read: numeric ones in one block, categorical ones as codes.

    ``num`` is (n, k), float32 with NaN for a missing value, or an integer type when the
    file had none; ``cats[p]`` holds the codes (n,) of feature ``p`` into its categories,
    -1 for a missing value and -2 for a category not in a given schema; ``bad[p]`` is the
    (row, text) of the first missing or unseen value of feature ``p``.
    """

    names: list[str]
    index: list[int]
    num: np.ndarray
    num_pos: list[int]
    cats: dict[int, tuple[np.ndarray, list[str]]]
    bad: dict[int, tuple[int, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.num.shape[0] if self.num_pos else len(next(iter(self.cats.values()))[0])

    def missing_cells(self) -> np.ndarray | None:
        """Per row, the number of missing (or unseen) values; None when there are none."""
        count = None
        if self.num_pos and self.num.dtype.kind == "f":
            nan = np.isnan(self.num)
            if nan.any():
                count = nan.sum(axis=1)
        for codes, _ in self.cats.values():
            if (codes < 0).any():
                count = (codes < 0).astype(np.int64) if count is None else count + (codes < 0)
        return count

    def take(self, keep: np.ndarray) -> _Parsed:
        cats = {p: (codes[keep], c) for p, (codes, c) in self.cats.items()}
        return _Parsed(self.names, self.index, self.num[keep], self.num_pos, cats, notes=self.notes)

    def assemble(self) -> tuple[np.ndarray, list[str]]:
        """The feature matrix (n, d) and its column names, categories one-hot (NaN where missing)."""
        if not self.cats:
            return self.num, list(self.names)
        blocks, names, k = [], [], 0
        for p, name in enumerate(self.names):
            if p in self.cats:
                codes, categories = self.cats[p]
                block = (codes[:, None] == np.arange(len(categories))).astype(np.float32)
                block[codes < 0] = np.nan
                blocks.append(block)
                names.extend(f"{name}={c}" for c in categories)
            else:
                blocks.append(self.num[:, k:k + 1].astype(np.float32))
                names.append(name)
                k += 1
        return np.concatenate(blocks, axis=1), names

    def describe(self) -> list[dict]:
        out = []
        for p, (name, i) in enumerate(zip(self.names, self.index)):
            col: dict = {"name": name, "index": i}
            if p in self.cats:
                col["categories"] = self.cats[p][1]
            out.append(col)
        return out


def _parse_body(
    path: Path, lay: _Layout, feature_idx: list[int], label_idx: int | None, kinds: list | None
) -> tuple[_Parsed, np.ndarray | None, _LineOf]:
    """Parse the data rows: features, labels (ints or strings), and a row->line map."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns about blank lines; they are skipped like csv does
            parsed, labels, line_of = _parse_fast(path, lay, feature_idx, label_idx, kinds)
    except (_NotFast, ValueError, OverflowError, UnicodeDecodeError, csv.Error):
        parsed, labels, line_of = _parse_slow(path, lay, feature_idx, label_idx, kinds)
    if parsed.n == 0:
        raise DataError(f"{path}: header but no data rows" if lay.header else f"{path}: no data rows")
    return parsed, labels, line_of


def _loadtxt(path: Path, lay: _Layout, cols: list[int], dtype) -> np.ndarray:
    return np.loadtxt(path, dtype=dtype, comments=None, delimiter=lay.delimiter, skiprows=int(lay.header),
                      usecols=cols, ndmin=2, quotechar='"', encoding="utf-8-sig")


def _read_strings(path: Path, lay: _Layout, cols: list[int]) -> np.ndarray:
    """Columns ``cols`` as stripped strings (n, len(cols))."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if lay.decimal == ".":
                return np.char.strip(_loadtxt(path, lay, cols, str))
        except (ValueError, UnicodeDecodeError, csv.Error):
            pass
    rows, _ = _slow_rows(path, lay)
    return np.char.strip(np.array([[r[j] for j in cols] for r in rows], dtype=str).reshape(len(rows), len(cols)))


def _parse_fast(
    path: Path, lay: _Layout, feature_idx: list[int], label_idx: int | None, kinds: list | None
) -> tuple[_Parsed, np.ndarray | None, _LineOf]:
    """Well-formed files through ``np.loadtxt``; raises to hand over to the csv path otherwise."""
    width = len(lay.names)
    sample = lay.sample
    if not sample or any(len(r) != width for r in sample) or lay.decimal != ".":
        raise _NotFast
    cells = np.char.strip(np.array(sample, dtype=str))  # (m, width): the head decides column types
    if np.isin(cells[:, feature_idx], [t for t in MISSING_TOKENS if t.lower() != "nan"]).any():
        raise _NotFast
    if kinds is None:
        numeric = [_numbers(cells[:, j]) is not None for j in feature_idx]
        if not all(numeric) and any(any(_NUMBER_LIKE.match(c) or _is_number(c) for c in cells[:, j])
                                    for j, ok in zip(feature_idx, numeric) if not ok):
            raise _NotFast  # mixed or number-like columns: the csv path decides and says so, over the whole file
    else:
        numeric = [k is None for k in kinds]
    num_pos = [p for p, ok in enumerate(numeric) if ok]
    num_cols = [feature_idx[p] for p in num_pos]
    head = _integers(cells[:, num_cols]) if num_cols else None
    ints = head is not None
    label_int = label_idx is not None and _integers(cells[:, [label_idx]]) is not None
    if ints and len(num_cols) == IMAGE_PIXELS and head.min() >= 0 and head.max() <= 255:
        dtypes = [np.uint8, np.int32, np.float32]  # pixels: 1 byte each, no conversion
    else:
        dtypes = [np.int32, np.float32] if ints else [np.float32]
    labels = None
    x = np.empty((0, 0), np.float32)
    if num_cols:
        for dtype in dtypes:
            with_label = label_int and dtype != np.float32
            try:
                x = _loadtxt(path, lay, num_cols + ([label_idx] if with_label else []), dtype)
                break
            except (ValueError, OverflowError):
                if dtype is dtypes[-1]:
                    raise
        if with_label:
            labels = x[:, -1].astype(np.int64)
            x = x[:, :-1]
        if x.dtype == np.int32:
            x = x.astype(np.float32)  # integers parse ~5x faster than floats, pixel data are integers
        elif x.dtype == np.uint8:
            x = np.ascontiguousarray(x)
        elif not np.isfinite(x).all():
            raise _NotFast  # NaN or inf: the csv path reports or fills it
    strings = [feature_idx[p] for p in range(len(feature_idx)) if p not in num_pos]
    if label_idx is not None and labels is None and label_int:
        try:
            labels = _loadtxt(path, lay, [label_idx], np.int64)[:, 0]  # far lighter than strings
        except (ValueError, OverflowError):
            labels = None
    if label_idx is not None and labels is None:
        strings.append(label_idx)
    cats: dict[int, tuple[np.ndarray, list[str]]] = {}
    notes: list[str] = []
    if strings:
        text = _read_strings(path, lay, strings)
        if num_cols and len(text) != len(x):
            raise _NotFast
        if label_idx is not None and labels is None:
            labels, text = text[:, -1], text[:, :-1]
        for k, p in enumerate(p for p in range(len(feature_idx)) if p not in num_pos):
            col = text[:, k]
            if np.isin(col, MISSING_TOKENS).any():
                raise _NotFast
            cats[p] = _categorize(col, None if kinds is None else kinds[p])
            if kinds is None:
                _check_categories(path, lay.names[feature_idx[p]], cats[p][1], len(col))
                note = _numeric_looking(path, lay.names[feature_idx[p]], cats[p][1])
                if note:
                    notes.append(note)
    if not num_cols:
        x = np.empty((len(labels) if labels is not None else len(next(iter(cats.values()))[0]), 0), np.float32)
    parsed = _Parsed([lay.names[j] for j in feature_idx], list(feature_idx), x, num_pos, cats, notes=notes)
    for p, (codes, _) in cats.items():
        if (codes == -2).any():
            raise _NotFast  # an unseen category: the csv path names it
    return parsed, labels, _line_map(path, lay.header)


def _categorize(col: np.ndarray, categories: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """Codes of stripped strings ``col``: into ``categories`` (-2 if absent), or into their sorted set."""
    if categories is None:
        uniq, codes = np.unique(col, return_inverse=True)
        return codes.reshape(-1).astype(np.int64), [str(u) for u in uniq]
    lookup = {c: i for i, c in enumerate(categories)}
    return np.array([lookup.get(str(v), -2) for v in col], dtype=np.int64), list(categories)


def _check_categories(path: Path, name: str, categories: list[str], n: int) -> None:
    """Refuse a word column that is free text or an id rather than a category."""
    if len(categories) > MAX_CATEGORIES and 2 * len(categories) > n:
        raise DataError(f"{path}: column '{name}' has {len(categories)} distinct words in {n} rows: free "
                        "text or an id, not a category? list it in data.ignore_columns")


def _line_map(path: Path, header: bool) -> _LineOf:
    """Row -> line, computed on first use by scanning the file for non-blank lines."""
    cache: list[list[int]] = []

    def line_of(i: int) -> int:
        if not cache:
            with open(path, encoding="utf-8-sig", errors="replace") as f:
                nums = [k for k, line in enumerate(f, 1) if line.strip()]
            cache.append(nums[int(header):])
        return cache[0][i]

    return line_of


def _remapped(line_of: _LineOf, keep: np.ndarray) -> _LineOf:
    rows = np.flatnonzero(keep) if keep.dtype == bool else keep
    return lambda i: line_of(int(rows[i]))


def _slow_rows(path: Path, lay: _Layout) -> tuple[list[list[str]], list[int]]:
    """Every data row as the csv module splits it, with its line number; ragged rows are errors."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    width = len(lay.names)
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text), delimiter=lay.delimiter)
    skip = lay.header
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if skip:
                skip = False
                continue
            if len(row) != width:
                other = "the header has" if lay.header else "the first row has"
                raise DataError(f"{path}: line {reader.line_num} has {len(row)} fields, {other} {width}")
            rows.append(_dotted(row) if lay.decimal == "," else row)
            lines.append(reader.line_num)
    except csv.Error as err:
        raise DataError(f"{path}: line {reader.line_num}: {err}") from None
    return rows, lines


def _parse_slow(
    path: Path, lay: _Layout, feature_idx: list[int], label_idx: int | None, kinds: list | None
) -> tuple[_Parsed, np.ndarray | None, _LineOf]:
    """The csv module, row by row, with messages naming the line and column at fault."""
    rows, lines = _slow_rows(path, lay)
    n = len(rows)
    num_pos, num, cats, bad, notes = [], [], {}, {}, []
    for p, j in enumerate(feature_idx):
        name = lay.names[j]
        vals = np.char.strip(np.array([r[j] for r in rows], dtype=str)) if n else np.array([], dtype=str)
        miss = np.isin(vals, MISSING_TOKENS)
        known = None if kinds is None else kinds[p]
        if known is None and lay.decimal == ".":
            vals, example = _ungrouped(vals, miss)
            if example and kinds is None:
                notes.append(f"{path.name}: column '{name}' writes numbers with thousands separators "
                             f"({example}), read as numbers")
        present = vals[~miss]
        if kinds is None:
            uniq = np.unique(present)
            words = [u for u in uniq if not _is_number(str(u))]
            categorical = 2 * int(np.isin(present, words).sum()) > len(present)
        else:
            categorical = known is not None
        if miss.any():
            i = int(np.argmax(miss))
            bad[p] = (i, str(vals[i]))
        if categorical:
            codes = np.full(n, -1, np.int64)
            codes[~miss], categories = _categorize(present, known)
            if kinds is None:
                _check_categories(path, name, categories, len(present))
                note = _numeric_looking(path, name, categories)
                if note:
                    notes.append(note)
            unseen = codes == -2
            if unseen.any() and p not in bad:
                i = int(np.argmax(unseen))
                bad[p] = (i, str(vals[i]))
            elif unseen.any() and int(np.argmax(unseen)) < bad[p][0]:
                bad[p] = (int(np.argmax(unseen)), str(vals[int(np.argmax(unseen))]))
            cats[p] = (codes, categories)
            continue
        out = np.full(n, np.nan, np.float32)
        try:
            with np.errstate(over="ignore"):
                out[~miss] = present.astype(np.float32)
        except ValueError:
            i = next(i for i, v in enumerate(vals) if not miss[i] and not _is_number(str(v)))
            raise DataError(f"{path}: line {lines[i]}, column '{name}': '{vals[i]}' is not a number") from None
        inf = ~np.isfinite(out) & ~miss
        if inf.any():
            i = int(np.argmax(inf))
            raise DataError(f"{path}: line {lines[i]}, column '{name}': value {vals[i]} is not a finite number")
        num_pos.append(p)
        num.append(out)
    x = np.stack(num, axis=1) if num else np.empty((n, 0), np.float32)
    labels = None if label_idx is None else np.char.strip(np.array([r[label_idx] for r in rows], dtype=str))
    parsed = _Parsed([lay.names[j] for j in feature_idx], list(feature_idx), x, num_pos, cats, bad, notes)
    return parsed, labels, lambda i: lines[i]


_COMMA_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
"""``1,234`` or ``-12,345.67``: thousands grouped with commas (the decimal mark being a dot)."""
_NUMBER_LIKE = re.compile(r"[+-]?[$€£¥]?\s*[+-]?[\d.,' ]*\d[\d.,' ]*\s*%?$")
"""Digits with separators, a currency sign or a percent sign: a number, though not written plainly."""


def _ungrouped(vals: np.ndarray, miss: np.ndarray) -> tuple[np.ndarray, str | None]:
    """A column whose values are all numbers, some with thousands separators (``1,234.5``), without them.

    Returns the values (unchanged unless so) and one grouped value as an example."""
    present = vals[~miss]
    grouped = [bool(_COMMA_GROUPED.match(v)) for v in present]
    if not any(grouped) or not all(g or _is_number(v) for g, v in zip(grouped, present)):
        return vals, None
    example = str(present[grouped.index(True)])
    return np.char.replace(vals, ",", ""), example


def _numeric_looking(path: Path, name: str, categories: list[str]) -> str | None:
    """A note when a column one-hot encoded as words mostly holds things that look like numbers."""
    looks = [c for c in categories if _NUMBER_LIKE.match(c)]
    if not looks:
        return None
    shown = ", ".join(f"'{c}'" for c in looks[:3])
    return (f"{path.name}: column '{name}' looks numeric ({shown}: {len(looks)} of its {len(categories)} distinct "
            f"values) but is not all plain numbers, so it is one-hot encoded as {len(categories)} categories; "
            "if it holds numbers, fix their format (data.decimal, no units) or list it in data.ignore_columns")


def _missing(
    path: Path, parsed: _Parsed, labels: np.ndarray | None, line_of: _LineOf, mode: str, predicting: bool = False
) -> tuple[np.ndarray | None, str | None]:
    """Apply ``data.missing``: an error, rows to keep (drop), or a note (mean: NaN stays to be filled).

    Returns the boolean mask of rows to keep (None: all) and a one-line note."""
    cells = parsed.missing_cells()
    no_label = None
    if labels is not None and labels.dtype.kind == "U":
        no_label = np.isin(labels, MISSING_TOKENS)
        if not no_label.any():
            no_label = None
    if cells is None and no_label is None:
        return None, None
    if mode == "error":
        first_row = min([r for r, _ in parsed.bad.values()] + [int(np.argmax(no_label))] * (no_label is not None))
        if no_label is not None and no_label[first_row]:
            what = "empty label" if labels[first_row] == "" else f"missing label '{labels[first_row]}'"
            raise DataError(f"{path}: line {line_of(first_row)}: {what}; set data.missing: drop to skip such rows")
        p = next(p for p, (r, _) in sorted(parsed.bad.items()) if r == first_row)
        text = parsed.bad[p][1]
        where = f"{path}: line {line_of(first_row)}, column '{parsed.names[p]}'"
        if p in parsed.cats and text not in MISSING_TOKENS:
            known = parsed.cats[p][1]
            shown = ", ".join(known[:8]) + (", ..." if len(known) > 8 else "")
            raise DataError(f"{where}: '{text}' is not a category seen in training ({shown}); a model trained "
                            "with data.missing: mean treats unseen categories as missing values")
        what = "empty value" if text == "" else f"missing value '{text}'"
        if predicting:
            raise DataError(f"{where}: {what}; the model was trained without data.missing, so it cannot fill "
                            "it in (train with data.missing: mean)")
        raise DataError(f"{where}: {what}; set data.missing: drop (skip rows with missing values) or mean "
                        "(fill in the training mean)")
    n = parsed.n
    gone = np.zeros(n, bool) if no_label is None else no_label.copy()
    if mode == "drop" and not predicting and cells is not None:
        gone |= cells > 0
        return ~gone, f"{path.name}: dropped {int(gone.sum())} of {n} rows with missing values (data.missing: drop)"
    parts = []
    if cells is not None:
        filled = cells[~gone]
        parts.append(f"{int(filled.sum())} missing or unseen values in {int((filled > 0).sum())} rows are filled "
                     "with the training mean")
    if gone.any():
        parts.append(f"dropped {int(gone.sum())} rows without a label")
    return (~gone if gone.any() else None), f"{path.name}: " + "; ".join(parts)


def _encode_labels(
    path: Path,
    labels: np.ndarray,
    label_column: str,
    classes: Sequence[str] | None,
    line_of: _LineOf,
) -> tuple[np.ndarray, list[str]]:
    """Map labels (ints, or strings) to class indices (n,) int64; return them with the class names."""
    keys: np.ndarray
    if labels.dtype.kind in "iu":
        keys = labels
    else:
        empty = np.flatnonzero(labels == "")
        if empty.size:
            raise DataError(f"{path}: line {line_of(int(empty[0]))}: empty label in column '{label_column}'")
        try:
            keys = labels.astype(np.int64)  # all integers: classes in numeric order
        except (ValueError, OverflowError):
            keys = labels
            distinct = np.unique(labels)
            numbers = labels.dtype.kind in "US" and all(_is_number(v) for v in distinct)
            if numbers and all(math.isfinite(float(v)) and float(v) % 1 == 0 for v in distinct):
                # "1.0" is the class 1: pandas writes integer labels as floats when the column has a gap
                keys = labels.astype(np.float64).astype(np.int64)
            elif classes is None and numbers and any(float(v) % 1 for v in distinct):
                raise DataError(f"{path}: label column '{label_column}' holds decimal numbers "
                                f"({len(distinct)} distinct values), not classes; choose the label "
                                "column with data.label_column (a name, or an index: 0 first, -1 last)")
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


def _looks_like_images(x: np.ndarray) -> bool:
    """784 features of integers in 0..255: 28x28 grayscale pixels."""
    if x.ndim != 2 or x.shape[1] != IMAGE_PIXELS or x.shape[0] == 0:
        return False
    if x.dtype == np.uint8:
        return True
    return bool(np.isfinite(x).all() and x.min() >= 0 and x.max() <= 255 and np.array_equal(x, np.round(x)))


_ID_NAME = re.compile(r"(?i:id|index)$|.*[a-z0-9](Id|ID)$|.*[_ \-](?i:id)$")


def _ids(path: Path, lay: _Layout, used: set[int], n: int) -> tuple[list[str], str | None]:
    """Row ids from the file's id column (``id``, ``ImageId``, ``PassengerId``...), else 1..n and None."""
    if lay.header:
        for j, name in enumerate(lay.names):
            if j not in used and _ID_NAME.match(name):
                ids = [str(v) for v in _read_strings(path, lay, [j])[:, 0]]
                if len(ids) == n:
                    return ids, name
    return [str(i + 1) for i in range(n)], None


# --- raw rows from Python and HTTP -----------------------------------------------------------

def raw_columns(schema: dict) -> list[str]:
    """The training file's feature columns, before categories are one-hot encoded."""
    return [str(c["name"]) for c in schema["columns"]]


def encode_rows(rows, schema: dict) -> np.ndarray:
    """Encode raw rows as the training file's columns were: ``(n, d)`` float32.

    Parameters
    ----------
    rows : array-like (n, n_columns), list of mappings, or a DataFrame
        Cells in the order of :func:`raw_columns` (or keyed by those names): numbers,
        category words, and missing values (None, NaN, or one of ``MISSING_TOKENS``).
    schema : dict
        The checkpoint's CSV schema (``input["csv"]``).

    Returns
    -------
    ndarray of float32, shape (n, d)
        Words one-hot encoded with the stored categories; a missing value (or an unseen
        category) is NaN, which standardizing fills with the training mean, if the model
        was trained with ``data.missing`` ``mean`` or ``drop``; otherwise a DataError.
    """
    names = raw_columns(schema)
    allow_missing = schema.get("missing", "error") != "error"
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a pandas DataFrame
        rows = rows.to_dict("records")
    if isinstance(rows, np.ndarray) and rows.ndim == 2 and rows.dtype.kind in "biuf":
        table = rows
    else:
        table = np.empty((len(rows), len(names)), dtype=object)
        for r, row in enumerate(rows):
            if isinstance(row, dict):
                absent = [c for c in names if c not in row]
                if absent:
                    raise DataError(f"row {r}: no value for column '{absent[0]}'"
                                    + (f" (and {len(absent) - 1} more)" if len(absent) > 1 else ""))
                row = [row[c] for c in names]
            if isinstance(row, (str, bytes)) or not hasattr(row, "__len__") or len(row) != len(names):
                width = len(row) if hasattr(row, "__len__") and not isinstance(row, str) else 1
                raise DataError(f"row {r}: has {width} values, the model needs {len(names)} "
                                f"({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})")
            table[r] = list(row)
    if table.shape[1] != len(names):
        raise DataError(f"rows have {table.shape[1]} values, the model needs {len(names)} ({', '.join(names[:6])})")
    blocks = []
    for j, col in enumerate(schema["columns"]):
        cells, categories = table[:, j], col.get("categories")
        if categories is None:
            values = np.array([_cell_number(v, r, names[j]) for r, v in enumerate(cells)], np.float32) \
                if cells.dtype == object else cells.astype(np.float32)
            missing = np.isnan(values)
            block = values[:, None]
        else:
            lookup = {c: i for i, c in enumerate(categories)}
            codes = np.array([-1 if _is_missing(v) else lookup.get(str(v).strip(), -2) for v in cells], np.int64)
            if not allow_missing and (codes == -2).any():
                r = int(np.argmax(codes == -2))
                raise DataError(f"row {r}, column '{names[j]}': '{cells[r]}' is not one of the categories seen in "
                                f"training ({', '.join(categories[:8])})")
            missing = codes < 0
            block = (codes[:, None] == np.arange(len(categories))).astype(np.float32)
            block[missing] = np.nan
        if not allow_missing and missing.any():
            r = int(np.argmax(missing))
            raise DataError(f"row {r}, column '{names[j]}': missing value, and the model was trained with "
                            "data.missing: error")
        blocks.append(block)
    return np.concatenate(blocks, axis=1) if blocks else np.empty((len(table), 0), np.float32)


def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    return isinstance(v, str) and v.strip() in MISSING_TOKENS


def _cell_number(v, row: int, name: str) -> float:
    if _is_missing(v):
        return math.nan
    if isinstance(v, bool) or not isinstance(v, (int, float, str, np.number)):
        raise DataError(f"row {row}, column '{name}': {v!r} is not a number")
    try:
        f = float(v)
    except ValueError:
        raise DataError(f"row {row}, column '{name}': {v!r} is not a number") from None
    if math.isinf(f):
        raise DataError(f"row {row}, column '{name}': {v!r} is not a finite number")
    return f
