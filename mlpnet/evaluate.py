"""Running a model over a whole split, in batches, without holding float copies of the data."""

from __future__ import annotations

import numpy as np

from .data import Batcher, Split
from .losses import Loss
from .model import MLP

EVAL_BATCH = 4096


def predict_split(model: MLP, split: Split, scale: float, batch_size: int = EVAL_BATCH) -> np.ndarray:
    """Network outputs for every row of ``split``: a new array (n, n_classes)."""
    n = len(split)
    out = np.empty((n, model.arch.sizes[-1]), model.dtype)
    batcher = Batcher(split, scale, min(batch_size, max(n, 1)), model.dtype)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        xb, _ = batcher.slice(start, stop)
        out[start:stop] = model.forward(xb)
    return out


def loss_and_accuracy(model: MLP, loss: Loss, split: Split, scale: float) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on ``split``."""
    probs = predict_split(model, split, scale)
    return loss.value(probs, split.y) / len(split), float(np.mean(probs.argmax(axis=1) == split.y))
