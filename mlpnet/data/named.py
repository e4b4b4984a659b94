"""Datasets in the MNIST file layout: the named ones (``mnist``, ``fashion-mnist``), found
or downloaded, and any folder of four IDX files (``data.dataset: idx``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError, DownloadError
from .dataset import Dataset, image_dataset
from .locate import SAMPLES, cache_home, load_idx_dir, load_named, load_sample

if TYPE_CHECKING:
    from ..config import DataConfig


@dataclass(frozen=True)
class NamedDataset:
    """A dataset mlpnet knows by name: its class names and how ``predict`` reads new images."""

    name: str
    classes: tuple[str, ...]
    preprocess: str = "mnist"
    """``mnist`` (digits centred by mass in a 20x20 box) or ``fit`` (objects filling the frame)."""


CATALOG: dict[str, NamedDataset] = {d.name: d for d in (
    NamedDataset("mnist", tuple(str(i) for i in range(10))),
    NamedDataset("fashion-mnist", ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"), preprocess="fit"),
    NamedDataset("mnist-sample", tuple(str(i) for i in range(10))),
)}
"""The catalog of named datasets; where their files are published is in ``download.DATASETS``."""


def load(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False,
         like: dict | None = None) -> Dataset:
    """A named dataset, from the first folder that holds it (downloaded if none does)."""
    entry = CATALOG[cfg.dataset]
    notes = []
    if entry.name in SAMPLES:
        if cfg.path is not None:  # never read the shipped sample while the user named other data
            raise DataError(f"{cfg.path}: data.path names other data, but data.dataset {entry.name} is shipped "
                            "inside mlpnet and reads no path; set data.dataset (csv, npz, folder, idx), or leave "
                            "it out and mlpnet infers it from the path")
        x_tr, y_tr, x_te, y_te = load_sample(entry.name)
    else:
        try:
            x_tr, y_tr, x_te, y_te = load_named(entry.name, cfg.path, download=cfg.download, progress=progress)
        except DownloadError:
            sample = next((s for s, (full, _) in SAMPLES.items() if full == entry.name), None)
            if cfg.path is not None or sample is None:
                raise
            # Not on the machine and not downloadable: the digits shipped inside the package still train.
            x_tr, y_tr, x_te, y_te = load_sample(sample)
            why = "downloading is off" if not cfg.download else "the download failed"
            notes.append(f"{entry.name} is not on this machine ({why}): training on {sample}, the "
                         f"{len(y_tr) + len(y_te):,} MNIST test digits shipped with mlpnet ({len(y_tr):,} train, "
                         f"{len(y_te):,} test); for full {entry.name} put its four files into "
                         f"{cache_home() / entry.name}")
            entry = CATALOG[sample]
    ds = image_dataset(x_tr, y_tr, x_te, y_te, list(entry.classes), entry.name)
    ds.input.preprocess = entry.preprocess
    ds.name, ds.notes = entry.name, notes
    return ds


def load_idx(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False,
             like: dict | None = None) -> Dataset:
    """The four IDX files in the folder ``data.path``; classes are the label digits."""
    x_tr, y_tr, x_te, y_te = load_idx_dir(Path(cfg.path))
    return image_dataset(x_tr, y_tr, x_te, y_te, None, cfg.path)
