"""Running a model over a whole split, in batches, and reporting how good it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import checkpoint, data, plots
from .config import stored_config
from .data import Split
from .data.spec import InputSpec
from .errors import DataError
from .metrics import Accumulator, Report
from .nn import MLP, losses
from .nn.losses import Loss

EVAL_BATCH = 4096


def predict_split(model: MLP, split: Split, scale: float, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Network outputs for every row of ``split``: a new array (n, n_classes)."""
    return model.predict_proba(split.x, scale=scale, batch_size=batch_size)


def loss_and_accuracy(model: MLP, loss: Loss, split: Split, scale: float) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``split``."""
    probs = predict_split(model, split, scale)
    return loss.value(probs, split.y) / len(split), float(np.mean(probs.argmax(axis=1) == split.y))


@dataclass
class Evaluation:
    """A metrics report plus what the plots need (outputs and labels of every sample)."""

    report: Report
    probs: np.ndarray
    split: Split
    scale: float
    input: InputSpec
    checkpoint: Path
    notes: list[str] = field(default_factory=list)
    """What loading the data guessed or repaired (an inferred format, a decimal comma...)."""


def evaluate_checkpoint(path: str | Path, split: str = "test", overrides: list[str] = (), *,
                        progress: bool = False) -> Evaluation:
    """Evaluate a saved model on a split of its dataset (or another one, via ``data.*`` overrides).

    Parameters
    ----------
    path : path
        Checkpoint (``best.npz`` or ``last.npz``).
    split : {"test", "val", "train"}
        Which split; ``val`` is the same held-out set as in training (same seed).
    overrides : list of str
        ``data.KEY=VALUE`` items, e.g. ``data.path=other/folder``.
    """
    ckpt = checkpoint.load(path)
    cfg = stored_config(ckpt.meta.config, path, overrides, allowed="data.", what="evaluate")
    ds = data.load(cfg.data, cfg.seed, progress=progress, classes=ckpt.classes, stats=ckpt.input.stats or None,
                   like=ckpt.input)
    model = ckpt.model
    if ds.n_features != model.arch.sizes[0]:
        raise DataError(f"{cfg.data.path or cfg.data.dataset}: samples have {ds.n_features} features but the "
                        f"model {path} expects {model.arch.sizes[0]}")
    if ds.n_classes > len(ckpt.classes):
        raise DataError(f"{cfg.data.path or cfg.data.dataset}: {ds.n_classes} classes but the model {path} "
                        f"knows {len(ckpt.classes)}")
    part = ds.split(split)
    probs = predict_split(model, part, ds.scale)
    acc = Accumulator(len(ckpt.classes))
    acc.update(probs, part.y, losses.get(cfg.loss).value(probs, part.y))
    return Evaluation(report=acc.result(ckpt.classes), probs=probs, split=part, scale=ds.scale,
                      input=ckpt.input, checkpoint=Path(path), notes=list(ds.notes))


def write_plots(ev: Evaluation, out_dir: str | Path) -> list[Path]:
    """``confusion_matrix.png`` and, for image data, ``misclassified.png`` in ``out_dir``."""
    out_dir = Path(out_dir)
    r = ev.report
    title = str(ev.checkpoint)
    written = [plots.plot_confusion(r.confusion_matrix, r.classes, out_dir / "confusion_matrix.png", title=title)]
    if ev.input.kind == "image":
        images = ev.split.x.reshape((len(ev.split), *ev.input.image_shape))
        written.append(plots.plot_misclassified(images, ev.split.y, ev.probs.argmax(axis=1), ev.probs, r.classes,
                                                out_dir / "misclassified.png"))
    return written
