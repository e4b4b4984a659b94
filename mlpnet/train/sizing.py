"""The small-data policy, in one place: how ``auto`` batch sizes, epoch counts and BLAS threads are chosen.

Only a value the user left ``auto`` is chosen here; a number given in a config file, with
``--set`` or to ``MLPClassifier`` is used as given. Every choice that differs from the
``auto`` baseline comes with a note naming both values, for the run to print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

AUTO = "auto"

AUTO_BATCH = 128
"""``train.batch_size: auto`` on a training set large enough for ``train.min_batches`` batches of it."""

SMALLEST_AUTO_BATCH = 16
"""An ``auto`` batch never shrinks below this (unless the training set itself is smaller)."""

AUTO_EPOCHS = 15
"""``train.epochs: auto`` on a training set of at least ``SMALL_EPOCH`` batches."""

SMALL_EPOCH = 100
"""Epochs of fewer batches than this are "small data": ``train.min_steps`` may add epochs."""

MAX_AUTO_EPOCHS = 100_000

SMALL_STEP_MACS = 4_000_000
"""Below this many multiply-adds in a batch's forward pass, threads left unset (``train.threads: null``,
``MLPClassifier(threads=None)``) means one BLAS thread: on matrices this small, waking and joining
threads costs more than they save (``python scripts/threads_threshold.py`` measures where the
crossover lies; scikit-learn's ``load_digits`` network, 200 x 7,400, is 1.5 million)."""


@dataclass
class Plan:
    """The batch size and epoch count a run uses, and the notes that explain any automatic choice."""

    batch_size: int
    epochs: int
    steps_per_epoch: int
    notes: list[str] = field(default_factory=list)


def plan(n_train: int, batch_size: int | str, epochs: int | str, *, min_batches: int, min_steps: int,
         base_batch: int = AUTO_BATCH, base_epochs: int = AUTO_EPOCHS, where: str = "train.") -> Plan:
    """Batch size and epochs for ``n_train`` training samples.

    Parameters
    ----------
    batch_size, epochs : int or "auto"
        As the user gave them. A number is kept (a batch larger than the training set is
        the whole set, which trains identically).
    min_batches : int
        ``auto`` batch: ``base_batch``, shrunk (not below 16) so that an epoch has at least
        this many batches; 0 keeps ``base_batch``.
    min_steps : int
        ``auto`` epochs: ``base_epochs``, raised on a small training set (fewer than 100
        batches per epoch) so that the run takes at least this many updates; 0 keeps it.
    where : str
        Prefix of the key names in the notes (``"train."`` for configs, ``""`` for parameters).
    """
    n = max(int(n_train), 1)
    notes = []
    if batch_size == AUTO:
        batch = min(base_batch, n)
        if min_batches and batch > SMALLEST_AUTO_BATCH and math.ceil(n / batch) < min_batches:
            batch = max(SMALLEST_AUTO_BATCH, n // min_batches)
            notes.append(f"{where}batch_size is auto: {base_batch} lowered to {batch}, so this training set of "
                         f"{n} samples makes {math.ceil(n / batch)} updates per epoch ({where}min_batches="
                         f"{min_batches}); set {where}batch_size to choose")
    else:
        batch = min(int(batch_size), n)
    steps = math.ceil(n / batch)
    if epochs == AUTO:
        count = base_epochs
        if min_steps and steps < SMALL_EPOCH:
            count = max(base_epochs, min(-(-min_steps // steps), MAX_AUTO_EPOCHS))
        if count != base_epochs:
            notes.append(f"{where}epochs is auto: {base_epochs} raised to {count}, because this small training "
                         f"set makes {steps} updates per epoch and {where}min_steps={min_steps} asks for at least "
                         f"that many in all; set {where}epochs to choose")
    else:
        count = int(epochs)
    return Plan(batch, count, steps, notes)


def blas_threads(threads: int | None, sizes, batch: int) -> int | None:
    """BLAS threads for training a network of layer ``sizes`` on batches of ``batch`` rows.

    What the user set wins; unset (None), small steps (see :data:`SMALL_STEP_MACS`) get one
    thread and larger ones every core (None).
    """
    if threads is not None:
        return threads
    macs = batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 1 if macs < SMALL_STEP_MACS else None

