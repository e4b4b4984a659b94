"""Datasets in the MNIST file layout: the named ones (``mnist``, ``fashion-mnist``), found
or downloaded, and any folder of four IDX files (``data.dataset: idx``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .dataset import Dataset, image_dataset
from .locate import load_idx_dir, load_named

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
)}
"""The catalog of named datasets; where their files are published is in ``download.DATASETS``."""


def load(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False) -> Dataset:
    """A named dataset, from the first folder that holds it (downloaded if none does)."""
    entry = CATALOG[cfg.dataset]
    x_tr, y_tr, x_te, y_te = load_named(entry.name, cfg.path, download=cfg.download, progress=progress)
    ds = image_dataset(x_tr, y_tr, x_te, y_te, list(entry.classes), entry.name)
    ds.input["preprocess"] = entry.preprocess
    return ds


def load_idx(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False) -> Dataset:
    """The four IDX files in the folder ``data.path``; classes are the label digits."""
    x_tr, y_tr, x_te, y_te = load_idx_dir(Path(cfg.path))
    return image_dataset(x_tr, y_tr, x_te, y_te, None, cfg.path)
