"""``mlpnet predict``: read people's own images (or CSV rows) and say what the model sees.

Images go through the preprocessing the model's training data had, recorded in its
checkpoint's input spec: MNIST-style normalisation for 28x28 grayscale models (see
:mod:`mlpnet.data.images`), a plain resize for RGB folder models. CSV rows are read in the
training file's columns. Both then go through :meth:`~mlpnet.checkpoint.Checkpoint.outputs` and
:meth:`~mlpnet.checkpoint.Checkpoint.to_user`, the same input and output transforms every other
entry point uses: classes with their top k, label sets (multilabel), or values (regression).
"""

from __future__ import annotations

import csv
import glob
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import checkpoint
from .data import csv as csv_data
from .data import images
from .data.images import IMAGE_SUFFIXES
from .data.spec import InputSpec
from .errors import DataError, MlpnetError
from .fileio import atomic_write


@dataclass
class Prediction:
    """One answer: the file (and row, for CSV input) and what the model says, by task:
    the top class and the top k (classification), the label set and each label's probability
    (multilabel), or a value per target (regression)."""

    file: str
    index: int | None = None
    label: str | None = None
    probability: float | None = None
    top_k: list[dict] | None = None
    row: int | None = None
    id: str | None = None
    """For CSV rows: the value of the file's id column (``ImageId``, ``id``...), else the row number."""
    values: dict[str, float] | None = None
    """Regression: target name -> predicted value, in the target's units."""
    labels: list[str] | None = None
    """Multilabel: the predicted label set (``probabilities`` holds every label's)."""
    probabilities: dict[str, float] | None = None

    def to_dict(self) -> dict:
        d = {"file": self.file}
        if self.values is not None:
            d["values"] = self.values
        elif self.labels is not None:
            d.update(labels=self.labels, probabilities=self.probabilities)
        else:
            d.update(index=self.index, label=self.label, probability=self.probability, top_k=self.top_k)
        if self.row is not None:
            d["row"] = self.row
            d["id"] = self.id
        return d


@dataclass
class Failure:
    """An input that could not be predicted: the file (or the folder or pattern as given) and why."""

    input: str
    error: str
    before: int = 0
    """How many predictions come before it, so :meth:`Results.entries` keeps the inputs' order."""

    def to_dict(self) -> dict:
        return {"input": self.input, "error": self.error}


@dataclass
class Results:
    predictions: list[Prediction] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    saved: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    id_column: str | None = None
    """The id column of the CSV input (first file that has one), for ``--output``."""
    image_model: bool = False

    @property
    def errors(self) -> list[str]:
        """One line per input that failed (each names its file)."""
        return [f.error for f in self.failures]

    def entries(self) -> list[dict]:
        """What ``--json`` prints: one entry per answer and per failure, in the inputs' order."""
        out, i = [], 0
        for f in self.failures:
            out += [p.to_dict() for p in self.predictions[i:f.before]] + [f.to_dict()]
            i = max(i, f.before)
        return out + [p.to_dict() for p in self.predictions[i:]]


def expand_inputs(items: list[str], tabular: bool = False) -> tuple[list[Path], list[Failure], list[str]]:
    """Files as given, folders' inputs (sorted), and glob patterns the shell left unexpanded.

    A folder means the files the model reads: its images (its ``.csv`` files for a
    tabular model); other files in it (a ``labels.csv``, notes) are skipped, and counted
    in a note. Returns the paths, a failure per item that matched nothing (``before``: the
    number of paths ahead of it), and notes.
    """
    paths, errors, notes = [], [], []
    # (in a folder, a .txt is more often notes than rows)
    wanted = set(csv_data.TABLE_SUFFIXES) - {".txt"} if tabular else IMAGE_SUFFIXES
    for item in items:
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file())
            found = [f for f in files if f.suffix.lower() in wanted]
            other = [f for f in files if f.suffix.lower() not in wanted]
            what = "CSV files" if tabular else "images"
            if not found:
                errors.append(Failure(item, f"{p}: no {what} in this folder", len(paths)))
            elif other:
                shown = ", ".join(f.name for f in other[:3]) + (", ..." if len(other) > 3 else "")
                notes.append(f"{p}: skipped {len(other)} file(s) that are not {what} ({shown})")
            paths.extend(found)
        elif not p.exists() and glob.has_magic(item):
            matched = sorted(Path(m) for m in glob.glob(item))
            if not matched:
                errors.append(Failure(item, f"{item}: no file matches this pattern", len(paths)))
            paths.extend(matched)
        else:
            paths.append(p)  # a missing file is reported when it is read
    return paths, errors, notes


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
    spec = ckpt.input
    res = Results(image_model=spec.kind == "image")
    paths, unmatched, res.notes = expand_inputs(items, tabular=spec.kind == "table")
    rows, names, row_ids, ids = [], [], [], []
    for n, path in enumerate(paths):
        res.failures += [Failure(f.input, f.error, len(names)) for f in unmatched if f.before == n]
        try:
            if path.suffix.lower() in csv_data.TABLE_SUFFIXES:
                got = _csv_rows(path, spec)
                spec.to_network(got.x)  # a row the model cannot read fails here, with this file's name
                rows.append(got.x)
                names.extend([str(path)] * len(got.x))
                row_ids.extend(range(1, len(got.x) + 1))
                ids.extend(got.ids)
                res.notes.extend(got.notes)
                res.id_column = res.id_column or got.id_column
                continue
            img = spec.image(images.load_image(path), name=str(path))
        except MlpnetError as err:
            msg = str(err) if str(err).startswith(str(path)) else f"{path}: {err}"
            res.failures.append(Failure(str(path), msg, len(names)))
            continue
        rows.append(img.reshape(1, -1))
        names.append(str(path))
        row_ids.append(None)
        ids.append(None)
        if save_dir is not None:
            res.saved.append(_save_input(img, path, Path(save_dir), res.saved))
    res.failures += [Failure(f.input, f.error, len(names)) for f in unmatched if f.before == len(paths)]
    if not rows:
        return res
    out = ckpt.outputs(np.concatenate(rows))
    if ckpt.task != "classification":
        for i, answer in enumerate(ckpt.answers(out)):
            res.predictions.append(Prediction(file=names[i], row=row_ids[i], id=ids[i], **answer))
        return res
    probs = out
    k = max(1, min(top_k, probs.shape[1]))
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    classes = ckpt.classes
    for i, name in enumerate(names):
        best = [{"index": int(j), "label": classes[j], "probability": float(probs[i, j])} for j in top[i]]
        res.predictions.append(Prediction(file=name, index=best[0]["index"], label=best[0]["label"],
                                          probability=best[0]["probability"], top_k=best, row=row_ids[i],
                                          id=ids[i]))
    return res


def _csv_rows(path: Path, spec: InputSpec) -> csv_data.Rows:
    """Raw inputs (n, d) for the rows of a CSV file, with their ids: features, or 784 pixels."""
    if spec.kind == "table":
        return csv_data.read_rows(path, spec.csv, spec.features, positional=bool(spec.positional))
    if spec.channels == 1 and (spec.height, spec.width) == (28, 28):
        return csv_data.read_pixel_rows(path)  # Kaggle's test.csv: 784 pixel columns, one image per row
    raise DataError(f"{path}: this model reads {spec.height}x{spec.width} images, not CSV rows")


def write_csv(res: Results, out: str | Path) -> Path:
    """Write one row per prediction: the id, the label and its probability (a Kaggle-style submission).

    The id column is the input file's (``ImageId``, ``id``...); without one, images from a
    CSV are numbered ``ImageId`` 1..N with a ``Label`` column, as Kaggle's digit recognizer
    expects, other rows ``id`` 1..N; image files are named by their path (``file``).
    """
    if res.id_column:
        head = (res.id_column, "label")
    elif res.predictions and all(p.row is not None for p in res.predictions):
        head = ("ImageId", "Label") if res.image_model else ("id", "label")
    else:
        head = ("file", "label")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    first = res.predictions[0] if res.predictions else None
    if first is not None and first.values is not None:  # regression: one column per target
        w.writerow([head[0], *first.values])
        for p in res.predictions:
            w.writerow([p.id if p.row is not None else p.file, *(repr(v) for v in p.values.values())])
    elif first is not None and first.labels is not None:  # multilabel: the set, ; separated
        w.writerow([head[0], "labels"])
        for p in res.predictions:
            w.writerow([p.id if p.row is not None else p.file, ";".join(p.labels)])
    else:
        w.writerow([*head, "probability"])
        for p in res.predictions:
            w.writerow([p.id if p.row is not None else p.file, p.label, f"{p.probability:.6f}"])
    out = Path(out)
    with atomic_write(out) as f:
        f.write(buf.getvalue().encode("utf-8"))
    return out


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
    """``file: label (97.1%)  top-3: ...``, ``file:3: price = 12.5`` or ``file:3: {a, c}``, on one line."""
    where = f"{p.file}:{p.row}" if p.row is not None else p.file
    if p.values is not None:
        return f"{where}: " + ", ".join(f"{t} = {v:.6g}" for t, v in p.values.items())
    if p.labels is not None:
        return f"{where}: {{{', '.join(p.labels)}}}"
    label = p.label if p.label == str(p.index) else f"{p.label} [{p.index}]"
    others = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in p.top_k)
    return f"{where}: {label} ({p.probability:.1%})   top-{len(p.top_k)}: {others}"
