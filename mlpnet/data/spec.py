"""The model's input contract: what a network reads, and the one function from raw inputs to it.

An :class:`InputSpec` describes a model's inputs: ``image`` (height, width, channels,
polarity, how a user's picture is preprocessed) or ``table`` (feature names, the training
file's CSV schema, the standardization statistics). :meth:`InputSpec.to_network` is the
single transform from raw inputs to network inputs, used by every entry point
(``mlpnet predict``/``evaluate``/``serve``/``export``, :func:`mlpnet.load`,
``MLPClassifier``); training data goes through the same pieces (:data:`PIXEL_SCALE`,
:class:`Standardizer`, :func:`encode_rows`), so what a model was trained on and what it
is asked about cannot drift apart.

Raw inputs are, for images, pixels 0-255 ``(n, h*w*c)`` or ``(n, h, w[, c])`` (files and
PIL images first go through :meth:`InputSpec.image`); for tables, rows of cells in the
training file's columns (numbers, category words, missing values) or numeric arrays.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, fields

import numpy as np
from PIL import Image

from ..errors import DataError
from . import images

PIXEL_SCALE = 1.0 / 255.0
"""Stored uint8 pixels to network inputs: the one place images are scaled."""

KINDS = ("image", "table")
MISSING_TOKENS = ("", "NA", "N/A", "NaN", "nan", "?", "null", "NULL")
"""Cells that mean "no value", in CSV files and in raw rows."""


@dataclass
class Standardizer:
    """Per-feature standardization ``(x - mean) / std``, fitted on the training split only.

    Attributes
    ----------
    mean, std : ndarray of float32, shape (d,)
        Stored in the checkpoint as two arrays; ``std`` is never 0.
    """

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float32)
        self.std = np.asarray(self.std, dtype=np.float32)
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise ValueError(f"mean and std must be 1-D of equal length, got {self.mean.shape} and {self.std.shape}")

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        """Fit to training features ``x`` of shape (n, d); a constant column gets std 1."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"x must be a non-empty (n, d) array, got shape {x.shape}")
        # float64 accumulation: float32 sums over ~1e5 rows lose digits.
        if x.dtype.kind == "f" and np.isnan(x).any():
            # Missing values (data.missing: mean) are left out of the statistics, then filled by apply.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: mean 0, std 1
                mean = np.nan_to_num(np.nanmean(x, axis=0, dtype=np.float64))
                std = np.nan_to_num(np.nanstd(x, axis=0, dtype=np.float64))
        else:
            mean = x.mean(axis=0, dtype=np.float64)
            std = x.std(axis=0, dtype=np.float64)
        return cls.of(mean, std)

    @classmethod
    def of(cls, mean: np.ndarray, std: np.ndarray) -> Standardizer:
        """From a column's mean and (population) std; a constant column gets std 1."""
        std = np.array(std, dtype=np.float64)
        std[std == 0] = 1.0
        return cls(mean, std)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Standardize ``x`` of shape (n, d) in place if it is float32, else a float32 copy; NaN becomes 0."""
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"x must have shape (n, {self.mean.shape[0]}), got {x.shape}")
        out = x if x.dtype == np.float32 and x.flags.writeable else x.astype(np.float32)
        out -= self.mean
        out /= self.std
        # A missing value (NaN) takes the training mean, which is 0 once standardized.
        np.nan_to_num(out, copy=False, nan=0.0)
        return out

    def __repr__(self) -> str:
        return f"Standardizer(features={self.mean.shape[0]})"


class Moments:
    """Per-column count, mean and variance of rows seen a chunk at a time, NaN left out.

    Chunks are merged with Chan, Golub and LeVeque's pairwise update, which stays exact in
    float64 where summing squares would lose digits; :meth:`standardizer` then gives the
    statistics :meth:`Standardizer.fit` gives for all the rows at once (``data.chunk_rows``).
    """

    def __init__(self) -> None:
        self.n: np.ndarray | None = None
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None

    def update(self, x: np.ndarray) -> None:
        """Add the rows ``x (n, d)``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if not len(x):
            return
        present = ~np.isnan(x)
        n = present.sum(axis=0).astype(np.float64)
        mean = np.where(present, x, 0.0).sum(axis=0) / np.maximum(n, 1)
        m2 = np.where(present, (x - mean) ** 2, 0.0).sum(axis=0)
        if self.n is None:
            self.n, self.mean, self.m2 = n, mean, m2
            return
        total = self.n + n
        share = n / np.maximum(total, 1)
        delta = mean - self.mean
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + m2 + delta ** 2 * self.n * share
        self.n = total

    @property
    def std(self) -> np.ndarray:
        """Population standard deviation per column (0 for a column with no value)."""
        return np.sqrt(self.m2 / np.maximum(self.n, 1))

    def standardizer(self) -> Standardizer:
        """The :class:`Standardizer` of every row added; a column never seen gets mean 0 and std 1."""
        if self.n is None:
            raise ValueError("no rows were added")
        return Standardizer.of(self.mean, self.std)


@dataclass
class InputSpec:
    """What a model reads. Stored in the checkpoint's metadata (``input``) and arrays (``input.mean``/``std``).

    Attributes
    ----------
    kind : {"image", "table"}
    height, width, channels : int
        Image size (channels 1 grayscale, 3 RGB).
    polarity : str or None
        ``light_on_dark`` for MNIST-style digits.
    preprocess : {"mnist", "fit", "resize"} or None
        How :meth:`image` turns a user's picture into the network's image.
    features : list of str or None
        Network feature names of a table (one-hot columns are ``column=value``).
    csv : dict or None
        The training CSV file's schema (columns, categories, missing-value mode), when
        the model was trained from a CSV file.
    positional : bool or None
        True for a table fitted on a bare array (no real column names): a CSV file's
        columns are then read by position, whatever its header says.
    mean, std : ndarray (n_features,) or None
        Standardization statistics of a table's training split.
    extra : dict
        Keys this version of mlpnet does not know, kept when the spec is written back.
    """

    kind: str
    height: int | None = None
    width: int | None = None
    channels: int = 1
    polarity: str | None = None
    preprocess: str | None = None
    features: list[str] | None = None
    csv: dict | None = None
    positional: bool | None = None
    mean: np.ndarray | None = field(default=None, repr=False)
    std: np.ndarray | None = field(default=None, repr=False)
    extra: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"input kind {self.kind!r} is not one of {', '.join(KINDS)}")

    # -- reading and writing (the checkpoint's ``input`` entry) -------------------------------

    @classmethod
    def from_dict(cls, d: dict, stats: dict[str, np.ndarray] | None = None) -> InputSpec:
        """The spec a metadata ``input`` dict records; format 1 wrote ``kind: tabular``."""
        d = dict(d)
        kind = d.pop("kind", "image")
        known = {f.name for f in fields(cls)} - {"kind", "mean", "std", "extra"}
        spec = cls(kind="table" if kind == "tabular" else kind, **{k: d.pop(k) for k in list(d) if k in known},
                   extra=d)
        if stats:
            spec.mean, spec.std = stats.get("mean"), stats.get("std")
        return spec

    def to_dict(self) -> dict:
        """The JSON-able ``input`` entry (statistics are arrays, see :meth:`arrays`)."""
        d = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in ("kind", "mean", "std", "extra") and value is not None:
                d[f.name] = value
        if self.kind == "table":
            d.pop("channels")
        return {**self.extra, **d}

    @property
    def stats(self) -> dict[str, np.ndarray]:
        """The statistics as named arrays (``mean``, ``std``), empty for images."""
        return {} if self.mean is None else {"mean": self.mean, "std": self.std}

    # -- what the network reads ---------------------------------------------------------------

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(h, w)`` or ``(h, w, c)`` of an image model."""
        return (self.height, self.width) if self.channels == 1 else (self.height, self.width, self.channels)

    @property
    def scale(self) -> float:
        """Factor from stored values to network inputs: :data:`PIXEL_SCALE` for images, 1 for tables."""
        return PIXEL_SCALE if self.kind == "image" else 1.0

    @property
    def columns(self) -> list[str]:
        """The columns a raw row has: the CSV file's own (before one-hot encoding), else the features."""
        if self.kind == "table" and self.csv is not None and not self.csv.get("image"):
            return raw_columns(self.csv)
        return list(self.features or [])

    def image(self, img: Image.Image, name: str = "<image>") -> np.ndarray:
        """The uint8 image ``(h, w)`` or ``(h, w, 3)`` this model reads, from a user's picture."""
        if self.kind != "image":
            raise DataError(f"{name}: this model reads rows of {len(self.columns)} features, not images")
        return images.network_image(img, self.preprocess or "mnist", self.height or 28, self.width or 28,
                                    self.channels, name=name)

    def to_network(self, x, dtype=np.float32) -> np.ndarray:
        """Network inputs ``(n, n_inputs)`` of ``dtype`` from raw inputs: THE input transform.

        Parameters
        ----------
        x : array-like
            Images: pixels 0-255, ``(n, h*w*c)`` or ``(n, h, w[, c])``, scaled by
            :data:`PIXEL_SCALE`. Tables: rows of raw cells in :attr:`columns` order (or
            mappings, or a DataFrame) that the CSV schema encodes (words one-hot, missing
            values NaN), or numeric rows already of the network's width; then standardized
            with the stored statistics (NaN -> the training mean).

        Raises
        ------
        DataError
            Rows of the wrong width, non-numbers, unknown categories or missing values the
            model was not trained to fill.
        """
        if self.kind == "table" and self.csv is not None and not self.csv.get("image") and not self._encoded(x):
            x = encode_rows(x, self.csv)
        x = _numeric(x)
        width = self.n_inputs
        if width is not None and x.shape[1] != width:
            what = "pixels" if self.kind == "image" else "features"
            raise DataError(f"inputs have {x.shape[1]} values per row, the model needs {width} {what}")
        out = x.astype(dtype, copy=True)
        if self.kind == "image":
            out *= np.dtype(dtype).type(PIXEL_SCALE)
        elif self.mean is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                out -= self.mean
                out /= self.std
            far = np.isinf(out)
            if far.any():  # nan_to_num would make it the largest float: an answer from a number nobody gave
                i, j = (int(v) for v in np.argwhere(far)[0])
                name = self.features[j] if self.features is not None and j < len(self.features) else str(j)
                raise DataError(f"row {i + 1}, feature '{name}': {float(x[i, j]):g} is too far from the training "
                                f"data (mean {float(self.mean[j]):g}, std {float(self.std[j]):g}) to be read in "
                                f"{np.dtype(dtype).name}")
            np.nan_to_num(out, copy=False, nan=0.0)  # a missing value takes the training mean: 0 once standardized
        return out

    @property
    def n_inputs(self) -> int | None:
        if self.kind == "image":
            return self.height * self.width * self.channels if self.height and self.width else None
        return len(self.features) if self.features is not None else None

    def _encoded(self, x) -> bool:
        """Whether ``x`` is a numeric array already at the network's width (rows the CSV reader encoded)."""
        return (isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype.kind in "biuf"
                and x.shape[1] == self.n_inputs != len(self.columns))

    def describe(self) -> str:
        """One line: ``28x28 grayscale images (mnist preprocessing)`` or ``12 standardized features``."""
        if self.kind == "table":
            return f"{len(self.features or [])} standardized features"
        return (f"{self.height}x{self.width} {'grayscale' if self.channels == 1 else 'RGB'} images "
                f"({self.preprocess} preprocessing)")


def _numeric(x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim > 2:
        x = x.reshape(len(x), -1)
    if x.ndim != 2:
        raise DataError(f"inputs must be a 2-D array (n_samples, n_features), got shape {x.shape}")
    if x.dtype.kind == "O":
        try:
            x = x.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise DataError(f"inputs must be numbers ({err})") from None
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"inputs must be numeric, got dtype {x.dtype}")
    return x


# -- raw table rows: the CSV file's cells as the network's features -----------------------

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
        if isinstance(rows, (str, bytes)) or not hasattr(rows, "__len__"):
            raise DataError("rows must be a list of rows")
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
