"""The in-memory form of a dataset: splits of ``x (n, n_features)`` and ``y (n,)``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import DataError

MNIST_INPUT = {"kind": "image", "height": 28, "width": 28, "channels": 1,
               "polarity": "light_on_dark", "preprocess": "mnist"}
"""The input format of MNIST-style data, recorded in checkpoints. ``preprocess`` says how
``predict`` turns a user's image into it: ``mnist`` (digits: 20x20 box, centred by mass,
see ``preprocess.to_mnist``), ``fit`` (objects filling the frame, ``preprocess.to_frame``)
or ``resize`` (a plain resize)."""


@dataclass
class Split:
    """One split: ``x (n, n_features)`` uint8 or float32, ``y (n,)`` int64."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass
class Dataset:
    """Train/validation/test splits plus what a checkpoint needs to read new inputs."""

    train: Split
    val: Split | None
    test: Split | None
    classes: list[str]
    input: dict
    scale: float = 1.0
    """Factor turning stored values into network inputs (1/255 for uint8 images)."""
    stats: dict[str, np.ndarray] = field(default_factory=dict)
    """Standardization statistics (``mean``, ``std``) of tabular features, else empty."""

    @property
    def n_features(self) -> int:
        return self.train.x.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def split(self, name: str) -> Split:
        """The split called ``train``, ``val`` or ``test``; a DataError if it is empty."""
        part = {"train": self.train, "val": self.val, "test": self.test}[name]
        if part is None or len(part) == 0:
            raise DataError(f"this dataset has no {name} split")
        return part
