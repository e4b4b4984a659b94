"""Users' own data: CSV tables (``data.dataset: csv``) and image folders (``folder``).

Both return a :class:`~mlpnet.data.Dataset` whose test split comes from a separate
file or folder when there is one, else from a held-out fraction (``data.test_size``)
drawn from the seed. The validation split is then taken from what is left, as for every
dataset, by :func:`mlpnet.data.load`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from . import preprocess, tabular
from .config import DataConfig
from .errors import DataError, ImageError
from .splits import MNIST_INPUT, Dataset, Split

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def load(cfg: DataConfig, seed: int, classes: list[str] | None = None):
    """Load a ``csv`` or ``folder`` dataset as the config describes."""
    if cfg.dataset == "csv":
        return _load_csv(cfg, seed, classes)
    return _load_folder(cfg, seed, classes)


def _holdout_rng(seed: int) -> np.random.Generator:
    # Same seed stream as the validation split (data.split_seed), different sub-stream.
    return np.random.default_rng(np.random.SeedSequence([seed, 2]))


def _load_csv(cfg: DataConfig, seed: int, classes: list[str] | None):
    path = Path(cfg.path)
    train = tabular.read_csv(path, cfg.label_column, classes=classes)
    if cfg.test_path:
        test = tabular.read_csv(Path(cfg.test_path), cfg.label_column, classes=train.classes)
        if test.features != train.features:
            raise DataError(f"{cfg.test_path}: feature columns differ from {path} "
                            f"({len(test.features)} vs {len(train.features)} columns, or another order)")
        tr, te = Split(train.x, train.y), Split(test.x, test.y)
    else:
        tr_idx, te_idx = tabular.split_holdout(len(train.y), cfg.test_size, _holdout_rng(seed), y=train.y)
        tr, te = Split(train.x[tr_idx], train.y[tr_idx]), Split(train.x[te_idx], train.y[te_idx])
    if classes is None:
        tabular.check_classes_present(tr.y, train.classes, str(path))
    return Dataset(train=tr, val=None, test=te, classes=train.classes,
                   input={"kind": "tabular", "features": train.features}, scale=1.0)


def _load_folder(cfg: DataConfig, seed: int, classes: list[str] | None):
    """``root/<class>/*.png``, or ``root/train/<class>/...`` plus ``root/test/<class>/...``."""
    root = Path(cfg.path)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    split_dirs = (root / "train").is_dir()
    train_root = root / "train" if split_dirs else root
    training = classes is None
    if training:
        classes = sorted(class_folders(train_root))
    if not classes:
        raise DataError(f"{train_root}: no class sub-folders with images (expected {train_root}/<class>/<image>.png)")
    read = _ImageReader(cfg)
    x_tr, y_tr = _read_tree(train_root, classes, read)
    if split_dirs and (root / "test").is_dir():
        x_te, y_te = _read_tree(root / "test", classes, read)
        tr, te = Split(x_tr, y_tr), Split(x_te, y_te)
    else:
        tr_idx, te_idx = tabular.split_holdout(len(y_tr), cfg.test_size, _holdout_rng(seed), y=y_tr)
        tr, te = Split(x_tr[tr_idx], y_tr[tr_idx]), Split(x_tr[te_idx], y_tr[te_idx])
    if training:
        tabular.check_classes_present(tr.y, classes, str(train_root))
    if cfg.image_mode == "gray":
        info = dict(MNIST_INPUT)
    else:
        h, w = read.size
        info = {"kind": "image", "height": h, "width": w, "channels": 3, "preprocess": "resize"}
    return Dataset(train=tr, val=None, test=te, classes=list(classes), input=info, scale=1.0 / 255.0)


def class_folders(root: Path) -> dict[str, list[Path]]:
    """Class name -> its image files, for every sub-folder of ``root`` holding images."""
    out = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in sub.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        if files:
            out[sub.name] = files
    return out


def _read_tree(root: Path, classes: list[str], read) -> tuple[np.ndarray, np.ndarray]:
    found = class_folders(root)
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise DataError(f"{root}: class folder(s) {', '.join(unknown)} are not among the model's classes "
                        f"({', '.join(classes)})")
    rows, labels = [], []
    for k, name in enumerate(classes):
        for f in found.get(name, []):
            rows.append(read(f))
            labels.append(k)
    if not rows:
        raise DataError(f"{root}: no images found (expected {root}/<class>/<image>.png)")
    return np.stack(rows), np.asarray(labels, np.int64)


class _ImageReader:
    """Reads one image file into a flat uint8 row, as the config's image mode says."""

    def __init__(self, cfg: DataConfig):
        self.mode = cfg.image_mode
        self.size = (cfg.image_size, cfg.image_size) if cfg.image_size else None
        self.first: Path | None = None

    def __call__(self, path: Path) -> np.ndarray:
        try:
            img = preprocess.load_image(path)
            if self.mode == "gray":
                return preprocess.to_mnist(img, name=str(path)).reshape(-1)
            img = img.convert("RGB")
        except ImageError as err:
            raise DataError(str(err)) from None
        if self.size is None:
            self.size, self.first = (img.height, img.width), path
        elif self.first is not None and (img.height, img.width) != self.size:
            raise DataError(f"{path}: image is {img.width}x{img.height} but {self.first} is "
                            f"{self.size[1]}x{self.size[0]}; with data.image_mode: rgb set data.image_size "
                            "to resize all images to one size")
        if (img.height, img.width) != self.size:
            img = img.resize((self.size[1], self.size[0]), resample=Image.Resampling.LANCZOS)
        return np.asarray(img, np.uint8).reshape(-1)
