"""Running a model over a whole split, in batches, and reporting how good it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import checkpoint, data, plots
from .config import stored_config
from .data import Split, StreamSplit
from .data.spec import InputSpec
from .errors import DataError
from .metrics import Accumulator, Report, format_regression, format_report, multilabel_report, regression_report
from .nn import MLP, losses
from .nn.losses import Loss

EVAL_BATCH = 4096


def predict_split(model: MLP, split: Split, scale: float, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Network outputs for every row of ``split``: a new array (n, n_classes)."""
    return model.predict_proba(split.x, scale=scale, batch_size=batch_size)


def outputs(model: MLP, split: Split | StreamSplit, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Network outputs for every row of ``split``, and the rows' targets; a streamed split
    (``data.chunk_rows``) is read a chunk at a time, and only outputs and targets are kept."""
    if not isinstance(split, StreamSplit):
        return predict_split(model, split, scale), split.y
    pairs = [(predict_split(model, part, scale), part.y) for part in split.parts()]
    return np.concatenate([o for o, _ in pairs]), np.concatenate([y for _, y in pairs])


def loss_and_accuracy(model: MLP, loss: Loss, split: Split, scale: float) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``split``."""
    return loss_and_score(model, loss, split, scale, "classification")


def loss_and_score(model: MLP, loss: Loss, split: Split, scale: float, task: str) -> tuple[float, float]:
    """Mean loss of ``model`` on ``split`` and its score: accuracy (classification), subset accuracy
    (multilabel), or R^2 averaged over the targets (regression; the same on standardized targets
    as in their units, since R^2 is unchanged by scaling both sides)."""
    out, y = outputs(model, split, scale)
    mean_loss = loss.value(out, y) / len(y)
    if task == "regression":
        return mean_loss, regression_report(y, out)["r2"]
    if task == "multilabel":
        return mean_loss, float(np.mean(((out > 0.5) == (y > 0.5)).all(axis=1)))
    return mean_loss, float(np.mean(out.argmax(axis=1) == y))


@dataclass
class Evaluation:
    """A metrics report plus what the plots need (outputs and labels of every sample).

    ``report`` is a :class:`~mlpnet.metrics.Report` for classification, else the dict of
    :func:`~mlpnet.metrics.regression_report` (``r2``, ``mae``, ``rmse``, per target) or
    :func:`~mlpnet.metrics.multilabel_report`, with the mean ``loss``.
    """

    report: Report | dict
    probs: np.ndarray
    split: Split
    scale: float
    input: InputSpec
    checkpoint: Path
    notes: list[str] = field(default_factory=list)
    """What loading the data guessed or repaired (an inferred format, a decimal comma...)."""
    task: str = "classification"
    y_true: np.ndarray | None = None
    """Regression: the targets ``(n, k)`` in their units; ``y_pred`` the model's values."""
    y_pred: np.ndarray | None = None

    def to_dict(self) -> dict:
        """The report as JSON-able values (``--json``)."""
        r = self.report
        return {"task": self.task, **(r.to_dict() if isinstance(r, Report) else r)}


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
    task = ckpt.task
    ds = data.load(cfg.data, cfg.seed, progress=progress, classes=ckpt.classes if task == "classification" else None,
                   stats=ckpt.input.stats or None, like=ckpt.input, task=task,
                   target_stats=ckpt.target_stats or None)
    model = ckpt.model
    where = cfg.data.path or cfg.data.dataset
    if ds.n_features != model.arch.sizes[0]:
        raise DataError(f"{where}: samples have {ds.n_features} features but the "
                        f"model {path} expects {model.arch.sizes[0]}")
    if task != "classification":
        if ds.n_outputs != model.arch.sizes[-1]:
            raise DataError(f"{where}: {ds.n_outputs} target column(s) but the model {path} predicts "
                            f"{model.arch.sizes[-1]}")
        part = ds.split(split)
        out, y = outputs(model, part, ds.scale)
        part = _kept(part, y)
        loss = losses.get(cfg.loss).value(out, y) / len(y)
        ev = Evaluation(report={}, probs=out, split=part, scale=ds.scale, input=ckpt.input, checkpoint=Path(path),
                        notes=list(ds.notes), task=task)
        if task == "regression":
            ev.y_true, ev.y_pred = ckpt.to_user(part.y), ckpt.to_user(out)  # both in the targets' units
            ev.report = {**regression_report(ev.y_true, ev.y_pred, names=ckpt.target_names), "loss": loss}
        else:
            ev.report = {**multilabel_report(part.y, out > 0.5, names=ckpt.classes), "loss": loss}
        return ev
    if ds.n_classes > len(ckpt.classes):
        raise DataError(f"{cfg.data.path or cfg.data.dataset}: {ds.n_classes} classes but the model {path} "
                        f"knows {len(ckpt.classes)}")
    part = ds.split(split)
    probs, y = outputs(model, part, ds.scale)
    part = _kept(part, y)
    acc = Accumulator(len(ckpt.classes))
    acc.update(probs, y, losses.get(cfg.loss).value(probs, y))
    return Evaluation(report=acc.result(ckpt.classes), probs=probs, split=part, scale=ds.scale,
                      input=ckpt.input, checkpoint=Path(path), notes=list(ds.notes))


def _kept(part: Split | StreamSplit, y: np.ndarray) -> Split:
    """The split an evaluation keeps: a streamed one (``data.chunk_rows``) keeps its targets, not its inputs."""
    return part if isinstance(part, Split) else Split(np.empty((len(y), 0), part.x.dtype), y)


def write_plots(ev: Evaluation, out_dir: str | Path) -> list[Path]:
    """``confusion_matrix.png`` and, for image data, ``misclassified.png`` in ``out_dir``; for a
    regressor ``predicted_vs_true.png`` and ``residuals.png``; for multilabel ``label_confusion.png``."""
    out_dir = Path(out_dir)
    r = ev.report
    title = str(ev.checkpoint)
    if ev.task == "regression":
        names = [t["name"] for t in r["targets"]]
        return [plots.plot_predicted_vs_true(ev.y_true, ev.y_pred, names, out_dir / "predicted_vs_true.png", title),
                plots.plot_residuals(ev.y_true, ev.y_pred, names, out_dir / "residuals.png", title)]
    if ev.task == "multilabel":
        return [plots.plot_label_confusions(ev.split.y, ev.probs > 0.5, [t["name"] for t in r["labels"]],
                                            [t["f1"] for t in r["labels"]], out_dir / "label_confusion.png", title)]
    written = [plots.plot_confusion(r.confusion_matrix, r.classes, out_dir / "confusion_matrix.png", title=title)]
    if ev.input.kind == "image" and ev.split.x.shape[1]:  # (streamed inputs are not kept)
        images = ev.split.x.reshape((len(ev.split), *ev.input.image_shape))
        written.append(plots.plot_misclassified(images, ev.split.y, ev.probs.argmax(axis=1), ev.probs, r.classes,
                                                out_dir / "misclassified.png"))
    return written


def format_evaluation(ev: Evaluation) -> str:
    """The printable report of any task."""
    r = ev.report
    if ev.task == "regression":
        return format_regression(r)
    if ev.task == "multilabel":
        return (f"n={r['n']}  subset accuracy={r['subset_accuracy']:.4f}  hamming loss={r['hamming_loss']:.4f}  "
                f"f1 micro={r['f1_micro']:.4f}  macro={r['f1_macro']:.4f}")
    return format_report(r)
