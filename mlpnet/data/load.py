"""Loading a dataset by the name of its format: the registry every ``data.dataset`` value comes from.

Every format returns one :class:`~mlpnet.data.dataset.Dataset` with its train and test
splits; :func:`load` then holds out the validation split and applies the input transform,
the same way for every format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from ..errors import DataError
from . import csv, folder, named, npz
from .dataset import Dataset
from .holdout import split_validation
from .transforms import standardize

if TYPE_CHECKING:
    from ..config import DataConfig

Loader = Callable[..., Dataset]
"""``loader(cfg, seed, *, classes=None, progress=False, like=None) -> Dataset`` (no validation split yet).

``like`` is a trained model's input description (``checkpoint meta["input"]``): a format
whose columns have names reads them as that model's were."""

def _arrays(cfg: DataConfig, seed: int, **_) -> Dataset:
    raise DataError("data.dataset: this model was trained from Python arrays (MLPClassifier.fit), so there is no "
                    "file to load; name one with --set data.dataset=csv --set data.path=FILE (or npz, folder)")


FORMATS: dict[str, Loader] = {
    **{name: named.load for name in named.CATALOG},
    "idx": named.load_idx,
    "npz": npz.load,
    "csv": csv.load,
    "folder": folder.load,
    "arrays": _arrays,
}
"""``data.dataset`` -> loader; the config's choice list is read from here."""

NEEDS_PATH = ("idx", "npz", "csv", "folder")
"""Formats that cannot be found by name: ``data.path`` is required."""

VAL_CAP = 5000
"""A fractional ``data.val_size`` holds out at most this many samples."""


def load(cfg: DataConfig, seed: int, *, progress: bool = True, classes: list[str] | None = None,
         stats: dict[str, np.ndarray] | None = None, like: dict | None = None) -> Dataset:
    """Load the dataset a config names, hold out its validation split and transform its inputs.

    Parameters
    ----------
    cfg : DataConfig
        The ``data`` section of a run config.
    seed : int
        Run seed; the validation (and any held-out test) split depends on it alone.
    classes : list of str, optional
        Class names of a trained model: labels are encoded to match them (CSV data).
    stats : dict, optional
        A trained model's feature statistics (``mean``, ``std``), applied instead of
        statistics fitted on this data's training split.
    like : dict, optional
        A trained model's input description: CSV columns are read as that model's were
        (by name, or by position for a model fitted on a bare array).
    """
    ds = FORMATS[cfg.dataset](cfg, seed, classes=classes, progress=progress, like=like)
    return prepare(ds, cfg, seed, stats)


def prepare(ds: Dataset, cfg: DataConfig, seed: int, stats: dict[str, np.ndarray] | None = None) -> Dataset:
    """Hold out the validation split and standardize tabular inputs (fitted on the training split)."""
    ds.train, ds.val = split_validation(ds.train, cfg.val_size, seed, cap=cfg.val_max)
    if ds.input["kind"] == "tabular":
        standardize(ds, stats)
    return ds
