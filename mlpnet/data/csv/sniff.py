"""The head of a CSV file: delimiter, decimal mark, header row, and which columns are the label and the features."""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import DataError
from .options import CsvOptions, DECIMALS, IMAGE_PIXELS, MISSING_TOKENS, _PIXEL_NAME


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
    skip: int = 0
    """Lines before the header (Excel's ``sep=;`` line)."""
    body: str | None = None
    """A chunk of the file's data lines to read instead of the file (``data.chunk_rows``): no header, and
    its first line is line ``line0 + 1`` of the file."""
    line0: int = 0


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
    skip = 0
    excel = re.fullmatch(r"sep=(.)", lines[0].strip())
    if excel and head.lstrip("\ufeff").startswith(lines[0]):  # Excel's first line naming the delimiter
        skip, lines = 1, lines[1:]
        if not lines:
            raise DataError(f"{path}: file is empty after its 'sep=' line")
    delim = opts.delimiter or (excel.group(1) if skip else _detect_delimiter(lines[:20], opts.decimal))
    try:
        rows = list(csv.reader(lines[: _SAMPLE_ROWS + 1], delimiter=delim))
    except csv.Error as err:
        raise DataError(f"{path}: line 1: {err}") from None
    # In a comma-separated file a decimal comma survives only inside quotes ("5,1"): with none there,
    # data.decimal ',' would read each number as two fields.
    if delim == "," and opts.decimal == "," and not any(_COMMA_NUMBER.match(c.strip()) for r in rows for c in r):
        raise DataError(f"{path}: data.decimal ',' needs another delimiter or quoted numbers (\"5,1\"), and the file "
                        "is separated by commas" + (" (data.delimiter)" if opts.delimiter
                                                    else "; set data.delimiter (';' or a tab)"))
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
        return _Layout(delim, False, [str(i) for i in range(len(first))], rows, decimal, notes, skip)
    for i, name in enumerate(first):
        if not name:
            raise DataError(f"{path}: column {i + 1} of the header has no name "
                            "(an index column? write the CSV without it)")
    dup = next((h for i, h in enumerate(first) if h in first[:i]), None)
    if dup is not None:
        raise DataError(f"{path}: column '{dup}' appears twice in the header")
    return _Layout(delim, True, first, rows[1:], decimal, notes, skip)


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


_GROUPED_DOTS = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+$")
"""``1.234`` or ``12.345.678``: thousands grouped with dots, when the decimal mark is a comma."""


def _detect_decimal(rows: list[list[str]], delimiter: str) -> str:
    """``,`` when some cells are numbers with a decimal comma and none has a decimal dot, else ``.``.

    Cells such as ``1,234`` (three digits after the comma) could be either; when every
    comma cell is of that form, they are taken as thousands separators (read as 1234,
    with a note), as integers grouped by thousands are more common than three decimals
    everywhere. In a comma-separated file such cells can only be quoted (``"5,1"``): the same rule
    holds."""
    comma = dot = 0
    for row in rows:
        for cell in row:
            c = cell.strip()
            if "," in c and _COMMA_NUMBER.match(c) and not _COMMA_THOUSANDS.match(c):
                comma += 1
            elif _DOT_FRACTION.match(c) and not _GROUPED_DOTS.match(c):
                dot += 1
    return "," if comma and not dot else "."


_COMMA_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+$")
"""``1,234``: could be thousands grouped; ``0,126`` cannot (a grouped number never starts with 0)."""


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
