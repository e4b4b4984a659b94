"""Image folders (``data.dataset: folder``): ``root/<class>/*.png``, or ``root/train/<class>/...``
plus ``root/test/<class>/...``.

The test split comes from ``test/`` when there is one, else from a held-out fraction
(``data.test_size``) drawn from the seed; the validation split is then taken from what is
left, as for every dataset, by :func:`mlpnet.data.load`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError, ImageError
from . import images
from .dataset import MNIST_INPUT, Dataset, Split
from .spec import InputSpec
from .holdout import check_classes_present, split_test

if TYPE_CHECKING:
    from ..config import DataConfig



def load(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False,
         like: dict | None = None) -> Dataset:
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
    notes = _empty_class_note(train_root)
    x_tr, y_tr = _read_tree(train_root, classes, read)
    if split_dirs and (root / "test").is_dir():
        x_te, y_te = _read_tree(root / "test", classes, read)
        tr, te = Split(x_tr, y_tr), Split(x_te, y_te)
    else:
        tr, te = split_test(Split(x_tr, y_tr), cfg.test_size, seed)
    if training:
        check_classes_present(tr.y, classes, str(train_root))
    if cfg.image_mode == "gray":
        info = dict(MNIST_INPUT)
    else:
        h, w = read.size
        info = {"kind": "image", "height": h, "width": w, "channels": 3, "preprocess": "resize"}
    if read.skipped:
        notes.append(f"skipped {len(read.skipped)} of {read.count} images that could not be used "
                     f"(first: {read.skipped[0]})")
    return Dataset(train=tr, val=None, test=te, classes=list(classes), input=info, notes=notes)


def _empty_class_note(root: Path) -> list[str]:
    """A note naming the sub-folders of ``root`` that hold no images, so are not classes."""
    found = class_folders(root)
    empty = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                   and p.name not in found)
    if not empty:
        return []
    shown = ", ".join(empty[:5]) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
    return [f"{root}: folder(s) {shown} hold no images and are not classes"]


def class_folders(root: Path) -> dict[str, list[Path]]:
    """Class name -> its image files, for every sub-folder of ``root`` holding images."""
    out = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(f for f in sub.rglob("*") if f.suffix.lower() in images.IMAGE_SUFFIXES and f.is_file())
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
            row = read(f)
            if row is not None:
                rows.append(row)
                labels.append(k)
    if not rows:
        why = f"; every image was skipped (first: {read.skipped[0]})" if read.skipped else ""
        raise DataError(f"{root}: no images found (expected {root}/<class>/<image>.png){why}")
    return np.stack(rows), np.asarray(labels, np.int64)


class _ImageReader:
    """Reads one image file into a flat uint8 row, as the config's image mode says."""

    def __init__(self, cfg: DataConfig):
        self.mode = cfg.image_mode
        self.size = (cfg.image_size, cfg.image_size) if cfg.image_size else None
        self.first: Path | None = None
        self.count = 0
        self.skipped: list[str] = []
        """One message per image left out: unreadable, or no ink. One bad file among thousands
        should not stop a run; a note counts them and names the first."""

    def __call__(self, path: Path) -> np.ndarray | None:
        self.count += 1
        try:
            img = images.load_image(path)
            if self.mode == "gray":
                return InputSpec.from_dict(MNIST_INPUT).image(img, name=str(path)).reshape(-1)
            if self.size is None:  # without data.image_size, the first image sets the size
                self.size, self.first = (img.height, img.width), path
            elif self.first is not None and (img.height, img.width) != self.size:
                raise DataError(f"{path}: image is {img.width}x{img.height} but {self.first} is "
                                f"{self.size[1]}x{self.size[0]}; with data.image_mode: rgb set data.image_size "
                                "to resize all images to one size")
            spec = InputSpec("image", height=self.size[0], width=self.size[1], channels=3, preprocess="resize")
            return spec.image(img, name=str(path)).reshape(-1)
        except ImageError as err:
            self.skipped.append(str(err))
            return None
