"""Large matrix products and long element-wise updates split over threads that sleep in between.

Why not let BLAS thread them: OpenBLAS's worker threads busy-wait for a while after
every call. In a small MLP the products alternate with many short element-wise passes
(activations, loss, optimizer), and on machines whose cores share a physical core (the
two vCPUs of a small VM, hyper-threads) the spinning worker halves the speed of those
passes. Measured on a 2-vCPU machine: an Adam step over 110k parameters takes 140 us
alone, 290 us next to a spinning thread; under load from another process a 2-thread
BLAS product was 4 times slower than a 1-thread one. So during training BLAS runs on
one thread, and this module hands blocks of the few large products to helper threads
that block on a queue, costing nothing while idle.

Each thread computes a block of whole rows (or columns) of the output with a
single-threaded BLAS call on slices, so every output element is still one dot product
over the full inner dimension. With OpenBLAS the result is bit-identical to a single
call whatever the thread count (tests/test_parallel.py checks it), so a run does not
depend on ``train.threads``.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Callable, Sequence

import numpy as np

MIN_WORK = 1 << 22
"""Multiply-adds below which a product runs in one piece: handing a block to a thread and
waiting for it costs about 10-20 us, the time of a 1M multiply-add product."""

MIN_LENGTH = 1 << 15
"""Elements below which an element-wise update runs in one piece."""

_ALIGN = 16  # block edges on multiples of 16 rows/columns keep the BLAS kernels on their fast path


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class MatmulPool:
    """Splits large matrix products, and long element-wise updates, over ``n_threads`` threads.

    The calling thread computes one block itself; ``n_threads - 1`` helper threads are
    started here and stopped by ``close`` (or on leaving a ``with`` block), after which
    everything runs in the calling thread.
    """

    def __init__(self, n_threads: int, min_work: int = MIN_WORK, min_length: int = MIN_LENGTH):
        self.n_threads = max(1, int(n_threads))
        self.min_work, self.min_length = min_work, min_length
        self._helpers = [_Helper() for _ in range(self.n_threads - 1)]

    def matmul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        """``out[...] = a @ b`` for 2-D ``a (m, k)``, ``b (k, n)``, ``out (m, n)``."""
        m, k = a.shape
        n = b.shape[1]
        if not self._helpers or m * k * n < self.min_work:
            np.matmul(a, b, out=out)
            return
        # Split the output along its longer side: rows take rows of a, columns take columns of b.
        rows = m >= n
        edges = _edges(m if rows else n, self.n_threads)
        self._fork([(_matmul, (a[lo:hi], b, out[lo:hi]) if rows else (a, b[:, lo:hi], out[:, lo:hi]))
                    for lo, hi in zip(edges[:-1], edges[1:])])

    def map(self, fn: Callable[..., None], arrays: Sequence[np.ndarray], *args) -> None:
        """``fn(*blocks, *args)`` for aligned blocks of the equally long 1-D ``arrays``, in parallel.

        ``fn`` must work element by element (each block independently of the others).
        """
        n = len(arrays[0])
        if not self._helpers or n < self.min_length:
            fn(*arrays, *args)
            return
        edges = _edges(n, self.n_threads)
        self._fork([(fn, (*(x[lo:hi] for x in arrays), *args)) for lo, hi in zip(edges[:-1], edges[1:])])

    def _fork(self, calls: list[tuple[Callable, tuple]]) -> None:
        """Run ``calls[0]`` here and the others on helpers; return when all are done."""
        busy = self._helpers[:len(calls) - 1]
        for helper, call in zip(busy, calls[1:]):
            helper.tasks.put(call)
        try:
            fn, args = calls[0]
            fn(*args)
        finally:
            # Collect every reply, even when interrupted, so none is left for a later call.
            errors = [h.replies.get() for h in busy]
        for err in errors:
            if err is not None:
                raise err

    def close(self) -> None:
        """Stop the helper threads; the pool keeps working, in the calling thread."""
        for h in self._helpers:
            h.tasks.put(None)
        for h in self._helpers:
            h.join()
        self._helpers = []

    def __enter__(self) -> "MatmulPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MatmulPool(n_threads={self.n_threads}, min_work={self.min_work}, min_length={self.min_length})"


SERIAL = MatmulPool(1)
"""A pool without helpers: everything in the calling thread."""


class _Helper(threading.Thread):
    """Runs each ``(fn, args)`` put on ``tasks`` and replies with None or the exception; ``None`` stops it."""

    def __init__(self):
        super().__init__(name="mlpnet-matmul", daemon=True)
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.replies: queue.SimpleQueue = queue.SimpleQueue()
        self.start()

    def run(self) -> None:
        while (call := self.tasks.get()) is not None:
            try:
                fn, args = call
                fn(*args)
                self.replies.put(None)
            except BaseException as err:  # handed to the caller, which raises it
                self.replies.put(err)


def _matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    np.matmul(a, b, out=out)


def _edges(length: int, parts: int) -> list[int]:
    """Block boundaries over ``range(length)``: at most ``parts`` blocks, each at least 16 long
    (a 1-wide block would turn into a matrix-vector product, summed in another order)."""
    step = -(-length // parts)
    step = -(-step // _ALIGN) * _ALIGN
    edges = list(range(0, length, step)) + [length]
    if len(edges) > 2 and edges[-1] - edges[-2] < _ALIGN:
        del edges[-2]
    return edges
