"""Raw rows from Python and HTTP (numbers, words, missing values), encoded as the training file's columns were."""

from __future__ import annotations

import math

import numpy as np

from ...errors import DataError
from .options import MISSING_TOKENS


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
