"""The in-memory form of a dataset: splits of ``x (n, n_features)`` and ``y`` (class indices ``(n,)``,
or float targets ``(n, k)`` for regression and multilabel)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from .spec import InputSpec

MNIST_INPUT = {"kind": "image", "height": 28, "width": 28, "channels": 1,
               "polarity": "light_on_dark", "preprocess": "mnist"}
"""The input format of MNIST-style data, recorded in checkpoints. ``preprocess`` says how
``predict`` turns a user's image into it: ``mnist`` (digits: 20x20 box, centred by mass,
see ``images.to_mnist``), ``fit`` (objects filling the frame, ``images.to_frame``)
or ``resize`` (a plain resize)."""


@dataclass
class Split:
    """One split: ``x (n, n_features)`` uint8 or float32; ``y (n,)`` int64 class indices, or ``(n, k)``
    float32 targets (regression: standardized values; multilabel: 0/1 indicators)."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray | None = None
    """Sample weights ``(n,)`` float32 (``data.weight_column``, ``train.class_weight``), or None: all 1."""

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: np.ndarray) -> Split:
        """The rows ``idx`` (with their weights) as a new split."""
        return Split(self.x[idx], self.y[idx], None if self.w is None else self.w[idx])


@dataclass
class Dataset:
    """Train/validation/test splits plus what a checkpoint needs to read new inputs."""

    train: Split
    val: Split | None
    test: Split | None
    classes: list[str]
    input: InputSpec
    """What the model trained on this data reads (a dict is read with :meth:`InputSpec.from_dict`)."""
    scale: float | None = None
    """Factor turning stored values into network inputs; by default the input spec's (pixels for
    images); 1 for images already stored as floats in [0, 1]."""
    name: str = ""
    """The dataset actually used, when it differs from ``data.dataset`` (``mnist-sample`` for ``mnist``)."""
    notes: list[str] = field(default_factory=list)
    """One-line notes for the user on how the data was read (fallbacks, guesses, skipped files)."""
    task: str = "classification"
    """``classification``, ``regression`` (``targets`` names the outputs) or ``multilabel`` (``classes`` does)."""
    targets: list[str] = field(default_factory=list)
    """Regression: the target columns' names, in output order."""
    target_stats: dict[str, np.ndarray] = field(default_factory=dict)
    """Regression: ``mean`` and ``std`` ``(k,)`` of the training split's targets, which ``y`` is standardized with."""

    def __post_init__(self) -> None:
        if isinstance(self.input, dict):
            self.input = InputSpec.from_dict(self.input)
        if self.scale is None:
            self.scale = self.input.scale

    @property
    def stats(self) -> dict[str, np.ndarray]:
        """Standardization statistics (``mean``, ``std``) of tabular features, else empty."""
        return self.input.stats

    @property
    def n_features(self) -> int:
        return self.train.x.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_outputs(self) -> int:
        """The network's output width: one per class, label or target."""
        return len(self.targets) if self.task == "regression" else len(self.classes)

    def close(self) -> None:
        """Release what splits keep outside memory (the parsed chunks of a streamed file on disk)."""
        for part in (self.train, self.val, self.test):
            getattr(part, "close", lambda: None)()

    def split(self, name: str) -> Split:
        """The split called ``train``, ``val`` or ``test``; a DataError if it is empty."""
        part = {"train": self.train, "val": self.val, "test": self.test}[name]
        if part is None or len(part) == 0:
            raise DataError(f"this dataset has no {name} split")
        return part


def image_dataset(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray,
                  classes: list[str] | None, where) -> Dataset:
    """Wrap image arrays ``(n, h, w)`` as flat splits with MNIST-style input metadata.

    Without ``classes`` the labels must be ``0 .. k-1`` and the classes are their digits.
    """
    if classes is None:
        labels = np.union1d(np.unique(y_tr), np.unique(y_te))
        if labels.min() < 0:
            raise DataError(f"{where}: labels must be non-negative integers")
        classes = [str(i) for i in range(int(labels.max()) + 1)]
    _check_labels(y_tr, len(classes), where)
    _check_labels(y_te, len(classes), where)
    h, w = x_tr.shape[1], x_tr.shape[2]
    info = dict(MNIST_INPUT, height=h, width=w)
    if (h, w) != (28, 28):
        info["preprocess"] = "resize"
    return Dataset(train=Split(_flat(x_tr), y_tr.astype(np.int64)), val=None,
                   test=Split(_flat(x_te), y_te.astype(np.int64)),
                   classes=list(classes), input=info)


def _flat(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(len(x), -1))


def _check_labels(y: np.ndarray, n_classes: int, where) -> None:
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{where}: labels must lie in 0..{n_classes - 1}, found {int(y.min())}..{int(y.max())}")
