"""Parsing the data rows: NumPy's C parser for well-formed files, the ``csv`` module for the rest and for every
error message; categories, thousands separators, missing values and row ids."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import DataError
from .options import IMAGE_PIXELS, MAX_CATEGORIES, MISSING_TOKENS
from .sniff import _Layout, _dotted, _integers, _is_number, _numbers


_LineOf = Callable[[int], int]
"""Maps a data row index to its 1-based line number in the file."""


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
    source, skip = (path, int(lay.header) + lay.skip) if lay.body is None else (io.StringIO(lay.body), 0)
    return np.loadtxt(source, dtype=dtype, comments=None, delimiter=lay.delimiter, skiprows=skip,
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
                if lay.body is None:  # a chunk's columns are checked once merged (mlpnet.data.stream)
                    check_categories(path, lay.names[feature_idx[p]], cats[p][1], len(col))
                note = _numeric_looking(path, lay.names[feature_idx[p]], cats[p][1])
                if note:
                    notes.append(note)
    if not num_cols:
        x = np.empty((len(labels) if labels is not None else len(next(iter(cats.values()))[0]), 0), np.float32)
    parsed = _Parsed([lay.names[j] for j in feature_idx], list(feature_idx), x, num_pos, cats, notes=notes)
    for p, (codes, _) in cats.items():
        if (codes == -2).any():
            raise _NotFast  # an unseen category: the csv path names it
    return parsed, labels, _line_map(path, lay)


def _categorize(col: np.ndarray, categories: list[str] | None) -> tuple[np.ndarray, list[str]]:
    """Codes of stripped strings ``col``: into ``categories`` (-2 if absent), or into their sorted set."""
    if categories is None:
        uniq, codes = np.unique(col, return_inverse=True)
        return codes.reshape(-1).astype(np.int64), [str(u) for u in uniq]
    lookup = {c: i for i, c in enumerate(categories)}
    return np.array([lookup.get(str(v), -2) for v in col], dtype=np.int64), list(categories)


def check_categories(path: Path, name: str, categories: list[str], n: int) -> None:
    """Refuse a word column that is free text or an id rather than a category."""
    if len(categories) > MAX_CATEGORIES and 2 * len(categories) > n:
        raise DataError(f"{path}: column '{name}' has {len(categories)} distinct words in {n} rows: free "
                        "text or an id, not a category? list it in data.ignore_columns")


def _line_map(path: Path, lay: _Layout) -> _LineOf:
    """Row -> line, computed on first use by scanning the file (or the chunk) for non-blank lines after
    the header."""
    cache: list[list[int]] = []

    def line_of(i: int) -> int:
        if not cache:
            if lay.body is not None:
                cache.append([k for k, line in enumerate(io.StringIO(lay.body), lay.line0 + 1) if line.strip()])
            else:
                with open(path, encoding="utf-8-sig", errors="replace") as f:
                    nums = [k for k, line in enumerate(f, 1) if line.strip()]
                cache.append(nums[int(lay.header) + lay.skip:])
        return cache[0][i]

    return line_of


def _remapped(line_of: _LineOf, keep: np.ndarray) -> _LineOf:
    rows = np.flatnonzero(keep) if keep.dtype == bool else keep
    return lambda i: line_of(int(rows[i]))


def _slow_rows(path: Path, lay: _Layout) -> tuple[list[list[str]], list[int]]:
    """Every data row as the csv module splits it, with its line number; ragged rows are errors."""
    try:
        text = path.read_text(encoding="utf-8-sig") if lay.body is None else lay.body
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    width = len(lay.names)
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(text), delimiter=lay.delimiter)
    skip = int(lay.header) + lay.skip if lay.body is None else 0
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if skip:
                skip -= 1
                continue
            if len(row) != width:
                other = "the header has" if lay.header else "the first row has"
                raise DataError(f"{path}: line {lay.line0 + reader.line_num} has {len(row)} fields, {other} {width}")
            rows.append(_dotted(row) if lay.decimal == "," else row)
            lines.append(lay.line0 + reader.line_num)
    except csv.Error as err:
        raise DataError(f"{path}: line {lay.line0 + reader.line_num}: {err}") from None
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
                if lay.body is None:
                    check_categories(path, name, categories, len(present))
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


_COMMA_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
"""``1,234`` or ``-12,345.67``: thousands grouped with commas (the decimal mark being a dot); not ``0,126``."""


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
