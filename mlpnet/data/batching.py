"""Batch assembly: float batches gathered from compact stored rows into reused buffers.

Images stay uint8 in memory (a 60k x 784 set is 47 MB) and are converted to floats one
batch at a time; tabular features are already float32.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .augment import Augmenter
from .dataset import Split
from .stream import StreamSplit


class Batcher:
    """Assembles float batches from a split into buffers allocated once.

    Parameters
    ----------
    split : Split
        Source rows (uint8 or float32).
    scale : float
        Multiplier from stored values to network inputs.
    batch_size : int
        Largest batch; a last, smaller batch is a view of the same buffers.
    dtype : numpy dtype
        Network dtype.
    augment : Augmenter, optional
        Random transforms applied to every gathered batch (training only), drawing from ``rng``.
    rng : numpy Generator, optional
        The run's generator.
    """

    def __init__(self, split: Split, scale: float, batch_size: int, dtype=np.float32, *,
                 augment: Augmenter | None = None, rng: np.random.Generator | None = None):
        self.split, self.scale = split, np.dtype(dtype).type(scale)
        self.augment, self.rng = augment, rng
        d = split.x.shape[1]
        self._same = split.x.dtype == np.dtype(dtype) and scale == 1.0
        # Rows that need converting are gathered raw first; rows already in the network's
        # dtype are gathered straight into the float buffer.
        self._raw = None if self._same else np.empty((batch_size, d), split.x.dtype)
        self._x = np.empty((batch_size, d), dtype)
        # class indices (n,), or float targets (n, k) for regression and multilabel
        self._y = np.empty((batch_size, *split.y.shape[1:]), split.y.dtype)
        self._w = None if split.w is None else np.empty(batch_size, split.w.dtype)

    def gather(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``idx`` (valid indices, e.g. from a permutation) as ``(x (n, d) float, y (n,))`` views
        into the batch buffers."""
        n = len(idx)
        x, y = self._x[:n], self._y[:n]
        # mode="clip" skips the bounds check, and with it the buffered copy that mode="raise"
        # makes of `out`: the indices come from a permutation of the rows, so none is out of range.
        if self._same:
            np.take(self.split.x, idx, axis=0, out=x, mode="clip")
        else:
            raw = self._raw[:n]
            np.take(self.split.x, idx, axis=0, out=raw, mode="clip")
            self._convert(raw, x)
        np.take(self.split.y, idx, axis=0, out=y, mode="clip")
        if self.augment is not None:
            self.augment(x, self.rng)
        return x, y

    def weights(self, idx: np.ndarray) -> np.ndarray | None:
        """The sample weights of rows ``idx`` (a view into a reused buffer), or None when all are 1."""
        if self._w is None:
            return None
        w = self._w[:len(idx)]
        np.take(self.split.w, idx, out=w, mode="clip")
        return w

    def _convert(self, raw: np.ndarray, x: np.ndarray) -> None:
        # A same-type cast then a float multiply: the same values as multiply(raw, scale),
        # but faster than NumPy's mixed uint8 * float32 loop.
        np.copyto(x, raw, casting="same_kind")
        x *= self.scale


def epoch_batches(split: Split | StreamSplit, batch_size: int, rng: np.random.Generator,
                  shuffle: bool = True) -> Iterator[tuple[Split, np.ndarray]]:
    """One epoch's batches: ``(rows, idx)``, the batch being rows ``idx`` of ``rows``.

    A split in memory is shuffled whole (one permutation of its rows). A streamed split
    (``data.chunk_rows``) is read chunk by chunk in a random order, each chunk's rows
    shuffled; the rows a chunk leaves over (fewer than a batch) make one batch with the
    next chunk's first, so every batch but the epoch's last is full, as in memory. Both draw only
    from ``rng``, the run's generator, so a resumed run repeats the epoch.
    """
    if not isinstance(split, StreamSplit):
        n = len(split)
        order = rng.permutation(n) if shuffle else np.arange(n)
        for b in range(math.ceil(n / batch_size)):
            yield split, order[b * batch_size:(b + 1) * batch_size]
        return
    left: Split | None = None
    for part in split.parts(rng.permutation(split.n_chunks) if shuffle else None):
        order = rng.permutation(len(part)) if shuffle else np.arange(len(part))
        start = 0
        if left is not None:  # the last chunk's left-over rows, topped up with this chunk's first
            start = min(batch_size - len(left), len(part))
            left = _joined(left, part.take(order[:start]))
            if len(left) < batch_size:
                continue
            yield left, np.arange(batch_size)
            left = None
        full = start + (len(part) - start) // batch_size * batch_size
        for b in range(start, full, batch_size):
            yield part, order[b:b + batch_size]
        if full < len(part):
            left = part.take(order[full:])
    if left is not None:
        yield left, np.arange(len(left))


def _joined(a: Split, b: Split) -> Split:
    return Split(np.concatenate([a.x, b.x]), np.concatenate([a.y, b.y]),
                 None if a.w is None else np.concatenate([a.w, b.w]))
