"""Classification metrics: confusion matrix, per-class scores, top-k, and a printable report.

Everything is computed from counts, so a whole evaluation set can be streamed through
:class:`Accumulator` batch by batch without keeping the probabilities around.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DIRECTION = {"val_accuracy": "max", "val_loss": "min", "val_r2": "max",
             "train_accuracy": "max", "train_loss": "min", "train_r2": "max"}
"""Which way each monitored metric improves: the one definition that ``best.npz``, early
stopping, the sweep's ranking and its pruning all read."""

TIEBREAK = {"val_accuracy": "val_loss", "val_loss": "val_accuracy", "val_r2": "val_loss",
            "train_accuracy": "train_loss", "train_loss": "train_accuracy", "train_r2": "train_loss"}
"""The metric that breaks a tie in each monitored metric (accuracy ties are common on small sets)."""


def higher_is_better(metric: str) -> bool:
    """Whether a larger ``metric`` (a key of ``DIRECTION``) is the better one."""
    return DIRECTION[metric] == "max"


def better(metric: str, value: float, than: float) -> bool:
    """Whether ``value`` is strictly better than ``than`` for ``metric``."""
    return value > than if higher_is_better(metric) else value < than


TOP_K: tuple[int, ...] = (3, 5)
"""The k values reported by :class:`Accumulator`, each only when ``n_classes > k``."""

MAX_MATRIX_CLASSES = 20
""":func:`format_report` prints the confusion matrix only up to this many classes."""


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Count (true, predicted) label pairs.

    Parameters
    ----------
    y_true, y_pred : ndarray of int, shape (n,)
        Class indices in ``[0, n_classes)``.
    n_classes : int
        Number of classes ``k``.

    Returns
    -------
    ndarray of int64, shape (k, k)
        ``cm[i, j]`` is the number of samples of true class ``i`` predicted as ``j``.
    """
    k = int(n_classes)
    y_true = _labels(y_true, k, "y_true")
    y_pred = _labels(y_pred, k, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    # Each pair (i, j) maps to the flat cell i*k + j; one bincount counts them all.
    flat = np.bincount(y_true * k + y_pred, minlength=k * k)
    return flat.reshape(k, k).astype(np.int64, copy=False)


def per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of every class.

    Parameters
    ----------
    cm : ndarray of int, shape (k, k)
        Confusion matrix, rows are true classes.

    Returns
    -------
    dict of str to ndarray, each of shape (k,)
        ``precision``, ``recall``, ``f1`` (float64; 0 where the ratio is 0/0) and
        ``support`` (int64, samples of each true class).
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.int64)
    predicted = cm.sum(axis=0)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2.0 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def top_k_accuracy(probs: np.ndarray, y: np.ndarray, k: int) -> float:
    """Fraction of samples whose true class is among the ``k`` highest scores.

    Parameters
    ----------
    probs : ndarray of float, shape (n, n_classes)
        Class probabilities (or any scores ordered the same way).
    y : ndarray of int, shape (n,)
        True class indices.
    k : int
        How many top classes count as a hit; ``k >= n_classes`` always hits.

    Returns
    -------
    float
        Top-k accuracy in ``[0, 1]``; NaN when ``n == 0``. Ties at the k-th score are
        broken arbitrarily, as in ``argpartition``.
    """
    hits = _top_k_hits(np.asarray(probs), _labels(y, np.shape(probs)[-1], "y"), k)
    return float(hits.mean()) if hits.size else math.nan


@dataclass(frozen=True)
class Report:
    """Metrics of one evaluation set; build it with :meth:`Accumulator.result`.

    ``precision``, ``recall``, ``f1`` and ``support`` have shape ``(k,)``;
    ``confusion_matrix`` has shape ``(k, k)`` with rows as true classes. ``macro``
    averages precision, recall and F1 over the classes that occur in the labels or the
    predictions (the scikit-learn convention), so a class absent from a small test set
    does not drag the averages down.
    """

    n: int
    loss: float
    accuracy: float
    top_k: dict[int, float]
    confusion_matrix: np.ndarray
    classes: list[str]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    macro: dict[str, float] = field(default_factory=dict)

    @property
    def per_class(self) -> list[dict[str, Any]]:
        """One row per class: ``label``, ``precision``, ``recall``, ``f1``, ``support``."""
        return [
            {
                "label": label,
                "precision": float(self.precision[i]),
                "recall": float(self.recall[i]),
                "f1": float(self.f1[i]),
                "support": int(self.support[i]),
            }
            for i, label in enumerate(self.classes)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``; ``top_k`` keys are strings)."""
        return {
            "n": self.n,
            "loss": _json_float(self.loss),
            "accuracy": _json_float(self.accuracy),
            "top_k": {str(k): _json_float(v) for k, v in self.top_k.items()},
            "classes": list(self.classes),
            "macro": {name: _json_float(v) for name, v in self.macro.items()},
            "per_class": self.per_class,
            "confusion_matrix": self.confusion_matrix.tolist(),
        }

    def __repr__(self) -> str:
        return (
            f"Report(n={self.n}, loss={self.loss:.4f}, accuracy={self.accuracy:.4f}, "
            f"classes={len(self.classes)})"
        )


class Accumulator:
    """Stream batches of predictions into counts, then summarise them as a :class:`Report`.

    Parameters
    ----------
    n_classes : int
        Number of classes ``k``.
    top_k : sequence of int
        The k values to track; those with ``k >= n_classes`` are dropped (always 100%).

    Examples
    --------
    >>> acc = Accumulator(10)
    >>> for xb, yb in batches:                                   # doctest: +SKIP
    ...     probs = model.predict_proba(xb)
    ...     acc.update(probs, yb, loss_sum=float(nll(probs, yb).sum()))
    >>> report = acc.result(classes)                             # doctest: +SKIP
    """

    def __init__(self, n_classes: int, top_k: Sequence[int] = TOP_K) -> None:
        if n_classes < 1:
            raise ValueError(f"n_classes must be at least 1, got {n_classes}")
        self.n_classes = int(n_classes)
        self.ks = tuple(int(k) for k in top_k if 0 < k < n_classes)
        self.reset()

    def reset(self) -> None:
        """Forget everything seen so far."""
        self.n = 0
        self.loss_sum = 0.0
        self.cm = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)
        self.top_k_hits = dict.fromkeys(self.ks, 0)

    def update(self, probs: np.ndarray, y: np.ndarray, loss_sum: float = math.nan) -> None:
        """Add one batch.

        Parameters
        ----------
        probs : ndarray of float, shape (b, k)
            Predicted class probabilities of the batch.
        y : ndarray of int, shape (b,)
            True class indices.
        loss_sum : float
            Loss summed (not averaged) over the batch; leave it out if there is no loss,
            and the report's loss is NaN.
        """
        probs = np.asarray(probs)
        if probs.ndim != 2 or probs.shape[1] != self.n_classes:
            raise ValueError(f"probs must have shape (b, {self.n_classes}), got {probs.shape}")
        y = _labels(y, self.n_classes, "y")
        if y.shape[0] != probs.shape[0]:
            raise ValueError(f"probs has {probs.shape[0]} rows but y has {y.shape[0]}")
        self.cm += confusion_matrix(y, probs.argmax(axis=1), self.n_classes)
        for k in self.ks:
            self.top_k_hits[k] += int(_top_k_hits(probs, y, k).sum())
        self.n += y.shape[0]
        self.loss_sum += float(loss_sum)

    def result(self, classes: Sequence[str] | None = None) -> Report:
        """Summarise what was accumulated.

        Parameters
        ----------
        classes : sequence of str, length k, optional
            Class names; defaults to ``"0" .. "k-1"``.

        Returns
        -------
        Report
        """
        if classes is None:
            classes = [str(i) for i in range(self.n_classes)]
        if len(classes) != self.n_classes:
            raise ValueError(f"got {len(classes)} class names for {self.n_classes} classes")
        if self.n == 0:
            raise ValueError("no samples were accumulated")
        scores = per_class(self.cm)
        # Macro averages skip classes that never occur, neither as label nor as prediction.
        seen = (self.cm.sum(axis=0) + self.cm.sum(axis=1)) > 0
        macro = {name: float(scores[name][seen].mean()) for name in ("precision", "recall", "f1")}
        return Report(
            n=self.n,
            loss=self.loss_sum / self.n,
            accuracy=float(np.trace(self.cm)) / self.n,
            top_k={k: hits / self.n for k, hits in self.top_k_hits.items()},
            confusion_matrix=self.cm.copy(),
            classes=[str(c) for c in classes],
            precision=scores["precision"],
            recall=scores["recall"],
            f1=scores["f1"],
            support=scores["support"],
            macro=macro,
        )

    def __repr__(self) -> str:
        return f"Accumulator(n_classes={self.n_classes}, top_k={self.ks}, n={self.n})"


def format_report(report: Report, max_name: int = 24) -> str:
    """Render a report as an aligned plain-text table for the terminal.

    Parameters
    ----------
    report : Report
    max_name : int
        Class names longer than this are cut with an ellipsis.

    Returns
    -------
    str
        A summary line, the per-class table with a macro-average row, and the confusion
        matrix (omitted above ``MAX_MATRIX_CLASSES`` classes). No trailing newline.
    """
    names = [_clip(c, max_name) for c in report.classes]
    summary = [f"n={report.n}", f"loss={report.loss:.4f}", f"accuracy={report.accuracy:.2%}"]
    summary += [f"top-{k}={v:.2%}" for k, v in report.top_k.items()]
    lines = ["  ".join(summary), ""]

    w = max(len("macro avg"), len("class"), *(len(n) for n in names))
    ws = max(len("support"), len(str(report.n)))
    row = f"{{:<{w}}}  {{:>9}}  {{:>9}}  {{:>9}}  {{:>{ws}}}"
    lines.append(row.format("class", "precision", "recall", "f1", "support"))
    for i, name in enumerate(names):
        p, r, f = report.precision[i], report.recall[i], report.f1[i]
        lines.append(row.format(name, f"{p:.4f}", f"{r:.4f}", f"{f:.4f}", report.support[i]))
    m = report.macro
    lines.append(
        row.format(
            "macro avg", f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", report.n
        )
    )

    lines.append("")
    k = len(names)
    if k > MAX_MATRIX_CLASSES:
        lines.append(
            f"confusion matrix omitted for {k} classes (more than {MAX_MATRIX_CLASSES}); "
            "use --json to get it"
        )
    else:
        lines.extend(_format_matrix(report.confusion_matrix, names))
    return "\n".join(lines)


def _format_matrix(cm: np.ndarray, names: list[str]) -> list[str]:
    """Confusion matrix lines; columns are headed by names if short, else by indices."""
    k = len(names)
    idx = [str(i) for i in range(k)]
    cell = max(len(str(int(cm.max()))), max(len(s) for s in idx))
    use_names = max(len(n) for n in names) <= max(cell, 5)
    heads = names if use_names else idx
    cell = max(cell, *(len(h) for h in heads))
    # Rows always carry the full name; with index column heads they also carry the index.
    labels = names if use_names else [f"{i:>{len(idx[-1])}} {n}" for i, n in zip(idx, names)]
    corner = "true \\ pred"
    lw = max(len(corner), *(len(s) for s in labels))
    out = ["confusion matrix (rows: true class, columns: predicted class)"]
    out.append(f"{corner:<{lw}}  " + " ".join(f"{h:>{cell}}" for h in heads))
    for label, counts in zip(labels, cm):
        out.append(f"{label:<{lw}}  " + " ".join(f"{int(c):>{cell}}" for c in counts))
    return out


def _top_k_hits(probs: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """Boolean (n,) mask: is ``y[i]`` among the top-k columns of ``probs[i]``."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    n_classes = probs.shape[1]
    if k >= n_classes:
        return np.ones(probs.shape[0], dtype=bool)
    # argpartition puts the k largest in the first k slots in O(n_classes), unordered.
    top = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    return (top == y[:, None]).any(axis=1)


def _labels(y: np.ndarray, k: int, name: str) -> np.ndarray:
    """Check that ``y`` is a 1-D array of class indices in ``[0, k)``; return it as int64."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    y = y.astype(np.int64, copy=False)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"{name} holds labels outside [0, {k}): {y.min()}..{y.max()}")
    return y


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, 0 where ``den == 0``, without a warning."""
    out = np.zeros(np.shape(num), dtype=np.float64)
    np.divide(num, den, out=out, where=np.asarray(den) != 0)
    return out


def _json_float(v: float) -> float | None:
    """Float for JSON: non-finite values become ``None``."""
    return float(v) if math.isfinite(v) else None


def _clip(s: str, width: int) -> str:
    """Cut ``s`` to ``width`` characters, marking the cut with an ellipsis."""
    return s if len(s) <= width else s[: width - 3] + "..."


# -- regression and multilabel ----------------------------------------------------------------

def regression_report(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None,
                      names: list[str] | None = None) -> dict:
    """R^2, MAE and RMSE overall and per target, as scikit-learn computes them.

    Parameters
    ----------
    y_true, y_pred : ndarray (n,) or (n, k)
    sample_weight : ndarray (n,), optional

    Returns
    -------
    dict
        ``r2`` (the mean of the targets' R^2, scikit-learn's ``uniform_average``), ``mae``,
        ``rmse`` (over every value), ``n``, and ``targets``: one ``{name, r2, mae, rmse}`` each.
    """
    t = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    err = p - t
    mae = np.average(np.abs(err), axis=0, weights=w)
    mse = np.average(err ** 2, axis=0, weights=w)
    mean = np.average(t, axis=0, weights=w)
    var = np.average((t - mean) ** 2, axis=0, weights=w)
    # R^2 = 1 - SS_res / SS_tot; a constant target gives 1 if predicted exactly, else 0 (scikit-learn's rule)
    r2 = np.where(var > 0, 1.0 - mse / np.where(var > 0, var, 1.0), np.where(mse == 0, 1.0, 0.0))
    names = names or [f"y{i}" for i in range(t.shape[1])]
    return {"n": len(t), "r2": float(r2.mean()), "mae": float(mae.mean()), "rmse": float(np.sqrt(mse.mean())),
            "targets": [{"name": str(nm), "r2": float(a), "mae": float(b), "rmse": float(np.sqrt(c))}
                        for nm, a, b, c in zip(names, r2, mae, mse)]}


def multilabel_report(y_true: np.ndarray, y_pred: np.ndarray, names: list[str] | None = None) -> dict:
    """Subset accuracy, Hamming loss and micro/macro F1 of 0/1 indicator matrices ``(n, k)``."""
    t = np.asarray(y_true) > 0.5
    p = np.asarray(y_pred) > 0.5
    tp = (t & p).sum(axis=0).astype(np.float64)
    fp = (~t & p).sum(axis=0).astype(np.float64)
    fn = (t & ~p).sum(axis=0).astype(np.float64)
    f1 = _safe_div(2 * tp, 2 * tp + fp + fn)
    micro = float(_safe_div(np.array([2 * tp.sum()]), np.array([2 * tp.sum() + fp.sum() + fn.sum()]))[0])
    names = names or [str(i) for i in range(t.shape[1])]
    return {"n": len(t), "subset_accuracy": float((t == p).all(axis=1).mean()),
            "hamming_loss": float((t != p).mean()), "f1_micro": micro, "f1_macro": float(f1.mean()),
            "labels": [{"name": str(nm), "f1": float(v)} for nm, v in zip(names, f1)]}


def format_regression(report: dict) -> str:
    """Overall figures on one line, then a table of the targets when there are several."""
    lines = [f"n={report['n']}  r2={report['r2']:.4f}  mae={report['mae']:.4g}  rmse={report['rmse']:.4g}"]
    if len(report["targets"]) > 1:
        width = max(6, *(len(t["name"]) for t in report["targets"]))
        lines.append(f"{'target':<{width}}  {'r2':>8}  {'mae':>10}  {'rmse':>10}")
        for t in report["targets"]:
            lines.append(f"{t['name']:<{width}}  {t['r2']:8.4f}  {t['mae']:10.4g}  {t['rmse']:10.4g}")
    return "\n".join(lines)
