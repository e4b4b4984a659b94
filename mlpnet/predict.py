"""``mlpnet predict``: read people's own images (or CSV rows) and say what the model sees.

Images go through the preprocessing the model's training data had, recorded in its
checkpoint: MNIST-style normalisation for 28x28 grayscale models (see
:mod:`mlpnet.data.images`), a plain resize for RGB folder models. CSV rows are
standardized with the statistics stored in the checkpoint.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import checkpoint
from .data import csv as csv_data
from .data import images
from .data.images import IMAGE_SUFFIXES
from .data.transforms import Standardizer
from .errors import DataError, MlpnetError
from .fileio import atomic_write


@dataclass
class Prediction:
    """One answer: the file (and row, for CSV input), the top class and the top k."""

    file: str
    index: int
    label: str
    probability: float
    top_k: list[dict]
    row: int | None = None

    def to_dict(self) -> dict:
        d = {"file": self.file, "index": self.index, "label": self.label, "probability": self.probability,
             "top_k": self.top_k}
        if self.row is not None:
            d["row"] = self.row
        return d


@dataclass
class Results:
    predictions: list[Prediction] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    saved: list[Path] = field(default_factory=list)


def expand_inputs(items: list[str]) -> tuple[list[Path], list[str]]:
    """Files as given, directories' images (sorted), and glob patterns the shell left unexpanded.

    Returns the paths and one error line per item that matched nothing.
    """
    paths, errors = [], []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES | {".csv"})
            if not found:
                errors.append(f"{p}: no images in this folder")
            paths.extend(found)
        elif not p.exists() and glob.has_magic(item):
            matched = sorted(Path(m) for m in glob.glob(item))
            if not matched:
                errors.append(f"{item}: no file matches this pattern")
            paths.extend(matched)
        else:
            paths.append(p)  # a missing file is reported when it is read
    return paths, errors


def predict_files(model_path: str | Path, items: list[str], top_k: int = 3,
                  save_dir: str | Path | None = None) -> Results:
    """Predict every image (or CSV row) named by ``items``; failures are collected, not raised.

    Parameters
    ----------
    model_path : path
        Checkpoint; its recorded input format decides the preprocessing.
    items : list of str
        Files, folders and glob patterns.
    top_k : int
        How many classes to list per answer (capped at the number of classes).
    save_dir : path, optional
        Write the exact network input of each image there as PNG.
    """
    ckpt = checkpoint.load(model_path)
    info = ckpt.meta.get("input", {})
    res = Results()
    paths, res.errors = expand_inputs(items)
    rows, names, row_ids, images = [], [], [], []
    for path in paths:
        try:
            if path.suffix.lower() == ".csv":
                x = _csv_rows(path, ckpt)
                rows.append(x)
                names.extend([str(path)] * len(x))
                row_ids.extend(range(1, len(x) + 1))
                continue
            img = _image_input(path, info)
        except MlpnetError as err:
            res.errors.append(str(err))
            continue
        images.append(img)
        rows.append(img.reshape(1, -1).astype(np.float32) / 255.0)
        names.append(str(path))
        row_ids.append(None)
        if save_dir is not None:
            res.saved.append(_save_input(img, path, Path(save_dir), res.saved))
    if not rows:
        return res
    x = np.concatenate(rows).astype(ckpt.model.dtype, copy=False)
    probs = ckpt.model.predict_proba(x)
    k = max(1, min(top_k, probs.shape[1]))
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    classes = ckpt.classes
    for i, name in enumerate(names):
        best = [{"index": int(j), "label": classes[j], "probability": float(probs[i, j])} for j in top[i]]
        res.predictions.append(Prediction(file=name, index=best[0]["index"], label=best[0]["label"],
                                          probability=best[0]["probability"], top_k=best, row=row_ids[i]))
    return res


def _image_input(path: Path, info: dict) -> np.ndarray:
    """The uint8 network input for an image file: (h, w) grayscale or (h, w, 3) RGB."""
    if info.get("kind") == "tabular":
        raise DataError(f"{path}: this model reads CSV rows of {len(info['features'])} features, not images")
    return images.network_image(images.load_image(path), info, name=str(path))


def _csv_rows(path: Path, ckpt: checkpoint.Checkpoint) -> np.ndarray:
    info = ckpt.meta.get("input", {})
    if info.get("kind") != "tabular":
        raise DataError(f"{path}: this model reads images, not CSV rows")
    x = csv_data.read_feature_csv(path, info["features"])
    stats = ckpt.group("input")
    return Standardizer(stats["mean"], stats["std"]).apply(x)


def _save_input(img: np.ndarray, path: Path, out_dir: Path, taken: list[Path]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.png"
    n = 1
    while target in taken:
        n += 1
        target = out_dir / f"{path.stem}-{n}.png"
    with atomic_write(target) as f:
        Image.fromarray(img).save(f, format="PNG")
    return target


def format_prediction(p: Prediction) -> str:
    """``file: label (97.1%)  top-3: ...`` on one line."""
    where = f"{p.file}:{p.row}" if p.row is not None else p.file
    label = p.label if p.label == str(p.index) else f"{p.label} [{p.index}]"
    others = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in p.top_k)
    return f"{where}: {label} ({p.probability:.1%})   top-{len(p.top_k)}: {others}"
