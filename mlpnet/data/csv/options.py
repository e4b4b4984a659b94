"""How to read a CSV file (:class:`CsvOptions`), what reading gives (:class:`Table`, :class:`Rows`), and the constants."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..spec import MISSING_TOKENS

if TYPE_CHECKING:
    from ...config import DataConfig


MISSING_MODES = ("error", "drop", "mean")
"""``data.missing``: a missing value is an error, drops its row, or takes the training mean."""


DECIMALS = ("auto", ".", ",")
"""``data.decimal``: detected from the file, or the decimal mark its numbers are written with."""




TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt")
"""File extensions read as delimited text: by ``data.dataset: auto`` and by ``mlpnet predict``."""


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

    label_column: str | int | list = "label"
    weight_column: str | int | None = None
    header: bool = True
    delimiter: str | None = None
    ignore_columns: tuple[str | int, ...] = ()
    missing: str = "error"
    decimal: str = "auto"

    @classmethod
    def of(cls, cfg: DataConfig) -> CsvOptions:
        """The options a run's ``data`` config (``mlpnet.config.DataConfig``) sets."""
        return cls(label_column=cfg.label_column, weight_column=cfg.weight_column, header=cfg.header,
                   delimiter=cfg.delimiter, ignore_columns=tuple(cfg.ignore_columns), missing=cfg.missing,
                   decimal=cfg.decimal)


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
    w: np.ndarray | None = None
    """Sample weights ``(n,)`` from ``weight_column``, or None."""
    task: str = "classification"
    """``regression``: ``y`` is float64 values ``(n, k)``, ``classes`` the target columns' names;
    ``multilabel``: ``y`` float 0/1 ``(n, k)``, ``classes`` the label columns' names."""

    @property
    def image(self) -> bool:
        return bool(self.schema.get("image"))

    def __repr__(self) -> str:
        n, d = self.x.shape
        return f"Table(n={n}, features={d}, classes={len(self.classes)})"


@dataclass
class Rows:
    """Rows to predict: features, an id per row, and the id column's name (None: none in the file)."""

    x: np.ndarray
    ids: list[str]
    id_column: str | None
    notes: list[str] = field(default_factory=list)
