"""The label columns of a CSV file as targets: which task they make, and their values.

``task: auto`` guesses (and says so in a note): one column of non-integer numbers is
regression, integers or words are classes; several columns of 0 and 1 only are multilabel,
other several columns regression. An explicit task is never second-guessed, only checked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ...errors import DataError
from ..spec import MISSING_TOKENS

TASKS = ("classification", "regression", "multilabel")


def resolve_task(task: str, columns: list[np.ndarray], names: list[str],
                 classes: Sequence[str] | None) -> tuple[str, str | None]:
    """The task the label ``columns`` (raw cells, ints or strings) make, and a note when it was guessed."""
    if task != "auto":
        return task, None
    if classes is not None:  # reading for a trained classifier
        return "classification", None
    shown = ", ".join(f"'{n}'" for n in names[:4]) + (", ..." if len(names) > 4 else "")
    if len(columns) == 1:
        values = _numbers(columns[0])
        if values is not None and np.isfinite(values).all() and (values % 1 != 0).any():
            return "regression", (f"task: regression, guessed from the label column {shown} (numbers with "
                                  "decimals); set task to choose")
        return "classification", None
    if all(_numbers(c) is not None and np.isin(_numbers(c), (0, 1)).all() for c in columns):
        return "multilabel", (f"task: multilabel, guessed from the {len(columns)} label columns {shown} "
                              "(0 and 1 only); set task to choose")
    return "regression", (f"task: regression, guessed from the {len(columns)} label columns {shown}; "
                          "set task to choose")


def encode(path: Path, task: str, columns: list[np.ndarray], names: list[str],
           line_of: Callable[[int], int]) -> tuple[np.ndarray, list[str]]:
    """Targets ``(n, k)``: float64 values (regression) or 0/1 indicators (multilabel), and the column names.

    Raises
    ------
    DataError
        Naming the file, line and column: a word, a missing or non-finite value (regression);
        a value other than 0/1, or a row with no label at all (multilabel).
    """
    y = np.empty((len(columns[0]), len(columns)), np.float64)
    for j, (cells, name) in enumerate(zip(columns, names)):
        y[:, j] = _values(path, cells, name, line_of, task)
    if task == "multilabel":
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            r, j = map(int, np.argwhere(bad)[0])
            raise DataError(f"{path}: line {line_of(r)}, column '{names[j]}': {y[r, j]:g} is not 0 or 1 "
                            "(task: multilabel reads one 0/1 column per label)")
        empty = np.flatnonzero(y.sum(axis=1) == 0)
        if empty.size:
            raise DataError(f"{path}: line {line_of(int(empty[0]))}: no label is 1 in this row "
                            f"({len(empty)} such row(s)); every multilabel row needs at least one label")
    return y, [str(n) for n in names]


def _values(path: Path, cells: np.ndarray, name: str, line_of, task: str) -> np.ndarray:
    if cells.dtype.kind in "iuf":
        values = cells.astype(np.float64)
    else:
        values = np.empty(len(cells), np.float64)
        for r, text in enumerate(cells):
            text = str(text).strip()
            if text in MISSING_TOKENS:
                raise DataError(f"{path}: line {line_of(r)}, column '{name}': missing {'weight' if task == 'weights' else 'target'} "
                                f"{'(empty)' if not text else repr(text)}; set data.missing: drop to skip such rows")
            try:
                values[r] = float(text)
            except ValueError:
                hint = ("; its words are classes: set task: classification" if task == "regression"
                        else "")
                what = "data.weight_column needs" if task == "weights" else f"task: {task} needs"
                raise DataError(f"{path}: line {line_of(r)}, column '{name}': '{text}' is not a number, and "
                                f"{what} numbers{hint}") from None
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        r = int(bad[0])
        raise DataError(f"{path}: line {line_of(r)}, column '{name}': {'weight' if task == 'weights' else 'target'} "
                        f"{cells[r]!s} is not a finite number")
    return values


def _numbers(cells: np.ndarray) -> np.ndarray | None:
    """The cells as float64, or None if any is not a number."""
    if cells.dtype.kind in "iuf":
        return cells.astype(np.float64)
    try:
        return np.array([float(c) for c in cells], np.float64)
    except (TypeError, ValueError):
        return None


def weights(path: Path, cells: np.ndarray, name: str, line_of: Callable[[int], int]) -> np.ndarray:
    """Sample weights ``(n,)`` float32 from the weight column; a missing, non-numeric, negative or
    non-finite weight, or all of them zero, is refused naming the line."""
    values = _values(path, cells, name, line_of, "weights")
    bad = np.flatnonzero(values < 0)
    if bad.size:
        r = int(bad[0])
        raise DataError(f"{path}: line {line_of(r)}, column '{name}': weight {cells[r]!s} is negative "
                        "(data.weight_column needs weights >= 0)")
    if not values.any():
        raise DataError(f"{path}: column '{name}': every weight is 0 (data.weight_column)")
    return values.astype(np.float32)
