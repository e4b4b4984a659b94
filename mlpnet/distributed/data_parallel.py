"""Data-parallel training under ``mpirun``: one global batch split across ranks, gradients summed.

The training loop asks :func:`stepper` for the function that trains on one global batch;
in one process that is the plain step, under MPI it is :class:`DataParallelStep`. Either
way every rank ends the call with the same parameters and the same loss and count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import mpi


def stepper(step, batcher, rng: np.random.Generator, comm: mpi.Comm) -> Callable[[np.ndarray, float], tuple[float, int]]:
    """The function ``(rows idx, lr) -> (summed loss, correct count)`` that trains on one global batch."""
    if comm.size > 1:
        return DataParallelStep(step, batcher, rng, comm)

    def local(idx: np.ndarray, lr: float) -> tuple[float, int]:
        xb, yb = batcher.gather(idx)
        return step(xb, yb, lr, rng, w=batcher.weights(idx))

    return local


class DataParallelStep:
    """One step on this rank's part of a global batch; gradients are summed by the step's ``reduce``.

    Each rank takes the contiguous rows ``comm.part(n)`` of the batch, scales dL/dz by its
    share of the batch (the loss is the global-batch mean), and the summed gradient is
    then the one a single process computes for the whole batch; every rank takes the
    same optimizer step. Dropout masks are drawn for the whole batch on every rank
    (``RowsOfGlobalBatch``), so the shared generator, and the next epoch's shuffle, stay in step.
    """

    def __init__(self, step, batcher, rng: np.random.Generator, comm: mpi.Comm):
        self.step, self.batcher, self.comm = step, batcher, comm
        self.rows = mpi.RowsOfGlobalBatch(rng)
        self.stats = np.zeros(2)

    def __call__(self, idx: np.ndarray, lr: float) -> tuple[float, int]:
        """Train on the global batch ``idx``; returns its summed loss and correct count over all ranks."""
        step, model, n = self.step, self.step.model, len(idx)
        lo, hi = self.comm.part(n)
        if hi > lo:
            xb, yb = self.batcher.gather(idx[lo:hi])
            value, right = step(xb, yb, lr, self.rows.rows(lo, hi, n), delta_scale=(hi - lo) / n)
        else:  # a last batch with fewer rows than ranks: contribute nothing, but keep in step
            if model.arch.dropout > 0:
                self.rows.rows(0, 0, n).skip_masks(list(model.arch.sizes[1:-1]), model.dtype.type)
            model.grads.fill(0)
            step.reduce(model.grads)
            step.opt.step(model.params, model.grads, lr)
            value, right = 0.0, 0
        self.stats[:] = value, right
        self.comm.allreduce_(self.stats)  # every rank sees the same loss, so all stop together if it diverges
        return float(self.stats[0]), int(self.stats[1])


def mean_over_ranks(comm: mpi.Comm, n: int, part: Callable[[int, int], tuple[float, float]]) -> tuple[float, float]:
    """Mean loss and accuracy over rows ``0..n``, each rank computing ``part(lo, hi)`` (the mean
    loss and accuracy of its rows ``comm.part(n)``); in one process, ``part(0, n)``."""
    if comm.size == 1:
        return part(0, n)
    lo, hi = comm.part(n)
    sums = np.zeros(2)
    if hi > lo:
        a, b = part(lo, hi)
        sums[:] = a * (hi - lo), round(b * (hi - lo))
    comm.allreduce_(sums)
    return float(sums[0] / n), float(sums[1] / n)
