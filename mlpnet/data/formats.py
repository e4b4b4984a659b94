"""Loading a dataset by the name of its format: the registry every ``data.dataset`` value comes from.

Every format returns one :class:`~mlpnet.data.dataset.Dataset` with its train and test
splits; :func:`load` then holds out the validation split and applies the input transform,
the same way for every format.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..errors import DataError
from ..fileio import sniff
from . import csv, folder, named, npz, stream
from .dataset import Dataset
from .locate import SAMPLES, find_files
from .holdout import split_validation, validation_size
from .transforms import standardize, standardize_targets

if TYPE_CHECKING:
    from ..config import DataConfig

Loader = Callable[..., Dataset]
"""``loader(cfg, seed, *, classes=None, progress=False, like=None) -> Dataset`` (no validation split yet).

``like`` is a trained model's input description (``checkpoint meta["input"]``): a format
whose columns have names reads them as that model's were."""

def _arrays(cfg: DataConfig, seed: int, **_) -> Dataset:
    raise DataError("data.dataset: this model was trained from Python arrays (MLPClassifier.fit), so there is no "
                    "file to load; name one with --set data.dataset=csv --set data.path=FILE (or npz, folder)")


def infer_format(path: str | Path, current: str | None = None) -> tuple[str, str]:
    """The ``data.dataset`` a path holds, from its extension and then its content, and why.

    Parameters
    ----------
    path : path
        ``data.path``: a file or a folder.
    current : str, optional
        The dataset the config named before; a named one (``mnist``) is kept for a folder of
        its four IDX files.

    Returns
    -------
    (format, reason) : the ``FORMATS`` key and a few words saying what gave it away.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        if all(f is not None for f in find_files(p)):
            keep = current in named.CATALOG and current not in SAMPLES
            return (current if keep else "idx"), "its four MNIST-layout IDX files"
        root = p / "train" if (p / "train").is_dir() else p
        if folder.class_folders(root):
            return "folder", "its class sub-folders of images"
        raise DataError(f"{p}: cannot tell the data's format: this folder holds neither class sub-folders of "
                        "images nor the four MNIST-layout IDX files; set data.dataset (folder, idx, csv, npz)")
    if not p.exists():
        raise DataError(f"{p}: no such file or folder (data.path)")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return "npz", "the extension .npz"
    if suffix in csv.TABLE_SUFFIXES:
        return "csv", f"the extension {suffix}"
    try:
        kind = sniff(p)
        with open(p, "rb") as f:
            head = f.read(1 << 16)
    except OSError as err:
        raise DataError(f"{p}: cannot read ({err.strerror})") from None
    if kind == "npz":
        return "npz", "its content (a zip of arrays)"
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        text = head[:err.start].decode("utf-8-sig") if err.start > len(head) - 4 else None  # a cut character
    if text is not None and "\x00" not in text and text.strip():
        return "csv", "its content (text)"
    raise DataError(f"{p}: cannot tell the data's format from its extension or content; set data.dataset "
                    "(csv, npz, folder, idx)")


def _auto(cfg: DataConfig, seed: int, **kw) -> Dataset:
    """``data.dataset: auto``: the format ``data.path`` holds, said in a note."""
    fmt, why = infer_format(cfg.path)
    if fmt != "csv":
        kw.pop("task", None)
    ds = FORMATS[fmt](dataclasses.replace(cfg, dataset=fmt), seed, **kw)
    ds.notes.insert(0, f"data.dataset: {fmt}, inferred from {why} ({Path(cfg.path).name}); set data.dataset "
                       "to choose")
    ds.name = fmt
    return ds


FORMATS: dict[str, Loader] = {
    **{name: named.load for name in named.CATALOG},
    "idx": named.load_idx,
    "npz": npz.load,
    "csv": csv.load,
    "folder": folder.load,
    "arrays": _arrays,
    "auto": _auto,
}
"""``data.dataset`` -> loader; the config's choice list is read from here."""

NEEDS_PATH = ("idx", "npz", "csv", "folder", "auto")
"""Formats that cannot be found by name: ``data.path`` is required."""

VAL_CAP = 5000
"""A fractional ``data.val_size`` holds out at most this many samples."""


def load(cfg: DataConfig, seed: int, *, progress: bool = True, classes: list[str] | None = None,
         stats: dict[str, np.ndarray] | None = None, like: dict | None = None, task: str = "auto",
         target_stats: dict[str, np.ndarray] | None = None) -> Dataset:
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
    task : {"auto", "classification", "regression", "multilabel"}
        What the labels are (CSV data; other formats hold classes). ``auto`` guesses, in a note.
    target_stats : dict, optional
        A trained regressor's target statistics (``mean``, ``std``).
    """
    if cfg.chunk_rows is not None:
        return _streamed(cfg, seed, classes=classes, like=like, task=task, stats=stats, target_stats=target_stats)
    kw = {"task": task} if cfg.dataset in ("csv", "auto") else {}
    ds = FORMATS[cfg.dataset](cfg, seed, classes=classes, progress=progress, like=like, **kw)
    if task not in ("auto", ds.task):
        raise DataError(f"task: {task} reads its targets from the label column(s) of a CSV file; "
                        f"{cfg.path or cfg.dataset} holds classes (set data.dataset: csv, or task: classification)")
    return prepare(ds, cfg, seed, stats, target_stats)


def _streamed(cfg: DataConfig, seed: int, **kw) -> Dataset:
    """``data.chunk_rows``: a CSV file read a chunk at a time (:mod:`mlpnet.data.stream`); other formats are refused."""
    fmt, why = (cfg.dataset, None) if cfg.dataset != "auto" else infer_format(cfg.path)
    if fmt != "csv":
        raise DataError(f"data.chunk_rows: reads CSV files a chunk at a time, and {cfg.path or cfg.dataset} is "
                        f"{fmt} data" + (f" ({why})" if why else "") + "; set data.chunk_rows: null")
    ds = stream.load(cfg, seed, **kw)
    if why:
        ds.notes.insert(0, f"data.dataset: csv, inferred from {why} ({Path(cfg.path).name}); set data.dataset "
                           "to choose")
    return ds


def prepare(ds: Dataset, cfg: DataConfig, seed: int, stats: dict[str, np.ndarray] | None = None,
            target_stats: dict[str, np.ndarray] | None = None) -> Dataset:
    """Hold out the validation split and standardize tabular inputs and regression targets (fitted on
    the training split, or a trained model's ``stats`` and ``target_stats``)."""
    val_size, note = validation_size(len(ds.train), cfg.val_size, cfg.val_max)
    if note:
        ds.notes.append(note)
    ds.train, ds.val = split_validation(ds.train, val_size, seed, cap=cfg.val_max)
    if ds.input.kind == "table":
        standardize(ds, stats)
    if ds.task == "regression":
        standardize_targets(ds, target_stats)
    return ds
