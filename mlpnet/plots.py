"""PNG plots: training curves, confusion matrix, worst mistakes.

matplotlib is an optional extra (``pip install "mlpnet[plot]"``), so it is imported only
when a plot is drawn. Figures are built with the object-oriented API on an Agg canvas:
no display, no pyplot global state. Every PNG is written to a temporary file in the
target folder and moved into place, so a crash never leaves half an image behind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpnet.errors import MlpnetError
from mlpnet.fileio import atomic_write

TRAIN_COLOR = "#1f77b4"
VAL_COLOR = "#d62728"


class PlotUnavailable(MlpnetError):
    """matplotlib, the optional plotting dependency, is not installed."""


def plot_curves(rows: Sequence[Mapping[str, Any]], path: str | Path, title: str = "") -> Path:
    """Plot loss and accuracy per epoch, training against validation.

    Parameters
    ----------
    rows : sequence of mapping
        One per epoch, as in ``metrics.csv``: ``epoch`` (rows are numbered if it is
        absent), ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``; other
        keys are ignored.
        Values may be numbers or strings; a missing, empty or NaN validation value is
        left out of the plot.
    path : str or Path
        PNG to write.
    title : str
        Figure title; defaults to "Training curves".

    Returns
    -------
    Path
        ``path``.
    """
    if not rows:
        raise ValueError("no epochs to plot")
    Figure, _ = _matplotlib()
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    epoch = _column(rows, "epoch")
    if not np.isfinite(epoch).all():
        epoch = np.arange(1.0, len(rows) + 1)  # no usable epoch column: number the rows
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    marker = "o" if len(rows) <= 30 else None
    score = "r2" if np.isfinite(_column(rows, "val_r2")).any() else "accuracy"  # a regression run scores R^2
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, score, "R^2" if score == "r2" else "accuracy")):
        for split, color, name in (
            ("train", TRAIN_COLOR, "train"),
            ("val", VAL_COLOR, "validation"),
        ):
            values = _column(rows, f"{split}_{key}")
            ok = np.isfinite(values)  # validation may run only every few epochs
            if ok.any():
                ax.plot(epoch[ok], values[ok], color=color, marker=marker, ms=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label.capitalize())
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()

    acc = [_column(rows, f"{s}_{score}") for s in ("train", "val")]
    finite = np.concatenate([a[np.isfinite(a)] for a in acc])
    if score == "accuracy" and finite.size and finite.max() <= 1.0:
        ax_acc.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    val = acc[1]
    if np.isfinite(val).any():
        best = int(np.nanargmax(val))
        ax_acc.plot(
            epoch[best],
            val[best],
            "*",
            color=VAL_COLOR,
            ms=12,
            ls="none",
            label=f"best validation {_pct(val[best]) if score == 'accuracy' else f'{val[best]:.4f}'} "
                  f"(epoch {epoch[best]:g})",
        )
        ax_acc.legend()
    fig.suptitle(title or "Training curves")
    return _save(fig, path)


def plot_confusion(
    cm: np.ndarray, classes: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Plot a row-normalised confusion matrix as a heat map.

    Parameters
    ----------
    cm : ndarray of int, shape (k, k)
        Counts, rows are true classes.
    classes : sequence of str, length k
        Class names for both axes.
    path : str or Path
        PNG to write.
    title : str
        Figure title; defaults to "Confusion matrix".

    Returns
    -------
    Path
        ``path``. Cells show the fraction of each true class; with k <= 15 they are
        annotated with the count and the percentage.
    """
    cm = np.asarray(cm)
    k = len(classes)
    if cm.shape != (k, k):
        raise ValueError(f"cm must have shape ({k}, {k}) for {k} classes, got {cm.shape}")
    Figure, _ = _matplotlib()
    from matplotlib.colors import PowerNorm
    from matplotlib.ticker import PercentFormatter

    totals = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0)
    side = min(4.0 + 0.5 * k, 20.0)
    fig = Figure(figsize=(side + 1.2, side), layout="constrained")
    ax = fig.subplots()
    # Square-root colour scale: confusions of a few percent stay visible next to a
    # diagonal near 100%; the colour bar is labelled in true fractions.
    image = ax.imshow(frac, cmap="Blues", norm=PowerNorm(0.5, vmin=0.0, vmax=1.0))
    bar = fig.colorbar(image, ax=ax, shrink=0.8, ticks=[0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1])
    bar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    bar.set_label("share of the true class (square-root scale)")
    names = [str(c) for c in classes]
    label_size = 10 if k <= 15 else 8 if k <= 60 else 6
    ax.set_xticks(
        range(k), names, rotation=45, ha="right", rotation_mode="anchor", fontsize=label_size
    )
    ax.set_yticks(range(k), names, fontsize=label_size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 15:
        size = 9 if k <= 10 else 7
        for i, j in np.ndindex(k, k):
            if cm[i, j] == 0:
                continue
            color = "white" if frac[i, j] > 0.3 else "black"  # 0.3 is mid-dark on sqrt scale
            text = f"{cm[i, j]}\n{frac[i, j]:.0%}" if frac[i, j] >= 0.005 else f"{cm[i, j]}"
            ax.text(j, i, text, ha="center", va="center", color=color, fontsize=size)
    accuracy = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title or 'Confusion matrix'}  (n={cm.sum()}, accuracy {accuracy:.2%})")
    return _save(fig, path)


def plot_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    path: str | Path,
    max_items: int = 36,
) -> Path:
    """Plot a grid of the most confident mistakes.

    Parameters
    ----------
    images : ndarray, shape (n, h, w), (n, h, w, 3) or (n, h*w) with a square image
        uint8 in [0, 255] or float (each image is scaled to its own range).
    y_true, y_pred : ndarray of int, shape (n,)
        True and predicted class indices.
    probs : ndarray of float, shape (n, k)
        Predicted probabilities; a mistake's score is the probability of its
        (wrong) predicted class, highest first.
    classes : sequence of str, length k
        Class names.
    path : str or Path
        PNG to write; with no mistakes it says so instead of showing a grid.
    max_items : int
        At most this many images.

    Returns
    -------
    Path
        ``path``.
    """
    images = _as_images(np.asarray(images))
    y_true, y_pred, probs = np.asarray(y_true), np.asarray(y_pred), np.asarray(probs)
    n = images.shape[0]
    if y_true.shape != (n,) or y_pred.shape != (n,) or probs.shape[0] != n:
        raise ValueError(
            f"images, y_true, y_pred and probs disagree on n: {n}, {y_true.shape}, "
            f"{y_pred.shape}, {probs.shape}"
        )
    Figure, _ = _matplotlib()

    wrong = np.flatnonzero(y_true != y_pred)
    score = probs[wrong, y_pred[wrong]]
    worst = wrong[np.argsort(-score, kind="stable")][:max_items]
    if worst.size == 0:
        fig = Figure(figsize=(5, 1.5))
        fig.text(0.5, 0.5, f"no misclassified samples among {n}", ha="center", va="center")
        return _save(fig, path)

    cols = min(6, worst.size)
    rows = math.ceil(worst.size / cols)
    fig = Figure(figsize=(2.3 * cols, 2.55 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    gray = images.ndim == 3
    for ax, i in zip(axes, worst):
        scale = {"vmin": 0, "vmax": 255} if gray and images.dtype == np.uint8 else {}
        ax.imshow(images[i], cmap="gray" if gray else None, interpolation="nearest", **scale)
        caption = (
            f"true: {classes[y_true[i]]} / pred: {classes[y_pred[i]]} (p={probs[i, y_pred[i]]:.2f})"
        )
        if len(caption) > 30:  # too wide for one cell: break after the true class
            caption = caption.replace(" / ", " /\n", 1)
        ax.set_title(caption, fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(f"Most confident mistakes ({worst.size} of {wrong.size} misclassified, n={n})")
    return _save(fig, path)


def plot_predicted_vs_true(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str], path: str | Path,
                           title: str = "") -> Path:
    """One scatter per target of predicted against true values ``(n, k)``, with the line y = x."""
    fig, axes = _per_target(y_true.shape[1], height=4.2)
    for j, ax in enumerate(axes):
        t, p = y_true[:, j], y_pred[:, j]
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, label="y = x")
        ax.scatter(t, p, s=8, alpha=0.6, color=VAL_COLOR)
        ax.set_xlabel(f"true {names[j]}")
        ax.set_ylabel(f"predicted {names[j]}")
        ax.grid(alpha=0.3)
    fig.suptitle(title or "Predicted against true values")
    return _save(fig, path)


def plot_residuals(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str], path: str | Path,
                   title: str = "") -> Path:
    """One scatter per target of the residual (predicted - true) against the predicted value."""
    fig, axes = _per_target(y_true.shape[1], height=3.6)
    for j, ax in enumerate(axes):
        ax.axhline(0.0, color="0.5", lw=1)
        ax.scatter(y_pred[:, j], y_pred[:, j] - y_true[:, j], s=8, alpha=0.6, color=TRAIN_COLOR)
        ax.set_xlabel(f"predicted {names[j]}")
        ax.set_ylabel("residual (predicted - true)")
        ax.grid(alpha=0.3)
    fig.suptitle(title or "Residuals")
    return _save(fig, path)


def plot_label_confusions(y_true: np.ndarray, y_pred: np.ndarray, names: Sequence[str], f1: Sequence[float],
                          path: str | Path, title: str = "") -> Path:
    """A multilabel model's 2x2 confusion matrix for each label (true 0/1 against predicted 0/1), with
    the counts, each label's F1 (from :func:`mlpnet.metrics.multilabel_report`) in its panel's title.

    ``y_true`` and ``y_pred`` are 0/1 indicator matrices ``(n, k)``."""
    t, p = np.asarray(y_true) > 0.5, np.asarray(y_pred) > 0.5
    fig, axes = _per_target(t.shape[1], height=3.4)
    for j, ax in enumerate(axes):
        cm = np.array([[np.sum(~t[:, j] & ~p[:, j]), np.sum(~t[:, j] & p[:, j])],
                       [np.sum(t[:, j] & ~p[:, j]), np.sum(t[:, j] & p[:, j])]])
        totals = cm.sum(axis=1, keepdims=True)
        ax.imshow(np.divide(cm, totals, out=np.zeros(cm.shape), where=totals > 0), cmap="Blues", vmin=0, vmax=1)
        for (i, k), count in np.ndenumerate(cm):
            ax.text(k, i, str(count), ha="center", va="center", color="white" if count > totals[i, 0] / 2 else "black")
        ax.set_xticks([0, 1], ["no", "yes"])
        ax.set_yticks([0, 1], ["no", "yes"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{names[j]}  (F1 {f1[j]:.3f})")
    fig.suptitle(title or "Confusion matrix of each label")
    return _save(fig, path)


# --- helpers ---------------------------------------------------------------------------


def _per_target(k: int, height: float):
    """A figure with one panel per target, four to a row: ``(fig, the k axes)``; empty cells hidden."""
    Figure, _ = _matplotlib()
    rows, cols = math.ceil(k / 4), min(k, 4)
    fig = Figure(figsize=(4.2 * cols, height * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for ax in axes[k:]:
        ax.set_axis_off()
    return fig, axes[:k]


def _matplotlib() -> tuple[Any, Any]:
    """Import matplotlib on demand: return ``(Figure, FigureCanvasAgg)``."""
    try:
        import matplotlib  # noqa: F401  (checked first: a blocked parent blocks submodules)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailable(
            'matplotlib is not installed; pip install "mlpnet[plot]" to get plots'
        ) from None
    return Figure, FigureCanvasAgg


def _save(fig: Any, path: str | Path) -> Path:
    """Render ``fig`` to PNG at ``path`` atomically (temp file in the same folder, then rename)."""
    _, FigureCanvasAgg = _matplotlib()
    FigureCanvasAgg(fig)
    from matplotlib.text import Text

    for t in fig.findobj(Text):  # a file name that is not UTF-8 (a lone surrogate) would crash the renderer
        t.set_text(t.get_text().encode("utf-8", "replace").decode("utf-8"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=100)
    return path


def _column(rows: Sequence[Mapping[str, Any]], key: str) -> np.ndarray:
    """One column of ``rows`` as float64 (n,); missing or empty values become NaN."""
    out = np.full(len(rows), np.nan)
    for i, row in enumerate(rows):
        value = row.get(key)
        if value is None or value == "":
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"epoch row {i + 1}: {key}={value!r} is not a number") from None
    return out


def _as_images(images: np.ndarray) -> np.ndarray:
    """Images as (n, h, w) or (n, h, w, 3) ready for imshow; flat square rows are reshaped."""
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ValueError(f"flat images of {images.shape[1]} pixels are not square")
        images = images.reshape(-1, side, side)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
        raise ValueError(f"images must be (n, h, w) or (n, h, w, 3), got {images.shape}")
    if images.ndim == 4 and images.dtype != np.uint8:
        # RGB floats: imshow needs [0, 1], so scale each image to its own range.
        lo = images.min(axis=(1, 2, 3), keepdims=True)
        hi = images.max(axis=(1, 2, 3), keepdims=True)
        images = (images - lo) / np.where(hi > lo, hi - lo, 1)
    return images


def _pct(v: float) -> str:
    """Format an accuracy as percent if it is a fraction."""
    return f"{v:.2%}" if v <= 1.0 else f"{v:.2f}"
