"""Held-out splits: one stratified, seeded function serves the test and the validation split.

Every split draws from its own stream of the run seed, so it is the same for a run, its
resume and ``mlpnet evaluate --split val``, whatever else consumes random numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import DataError
from .dataset import Split


def train_seed(seed: int) -> np.random.SeedSequence:
    """The seed stream for initialisation, shuffling, dropout and augmentation."""
    return np.random.SeedSequence([seed, 0])


def split_seed(seed: int) -> np.random.SeedSequence:
    """The seed stream reserved for the validation split."""
    return np.random.SeedSequence([seed, 1])


def test_seed(seed: int) -> np.random.SeedSequence:
    """The seed stream of the test split held out of data without a test file or folder."""
    return np.random.SeedSequence([seed, 2])


def holdout_count(n: int, size: int | float, cap: int | None = None) -> int:
    """How many of ``n`` rows ``size`` holds out: a fraction if it is a float, else a count.

    A fraction is rounded and then capped at ``cap`` rows (a count is taken as given).
    """
    if isinstance(size, float):
        k = int(round(size * n))
        return min(k, cap) if cap is not None else k
    return int(size)


def holdout(n: int, size: int | float, rng: np.random.Generator, y: np.ndarray | None = None, *,
            cap: int | None = None, where: str = "holdout") -> tuple[np.ndarray, np.ndarray]:
    """Split row indices into a kept part and a held-out part.

    Parameters
    ----------
    n : int
        Number of rows.
    size : float or int
        A fraction in [0, 1) or a row count in [0, n) to hold out.
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same split.
    y : ndarray of int, shape (n,), optional
        Class indices; when given the split is stratified, holding out the same fraction
        of every class (rounded by largest remainder, so the total is exact).
    cap : int, optional
        Largest number of rows a fraction may hold out.
    where : str
        The config key, for the error message.

    Returns
    -------
    kept_idx, held_idx : ndarray of int64
        Disjoint, sorted, together ``0 .. n-1``; ``held_idx`` may be empty.
    """
    n_held = holdout_count(n, size, cap)
    if n_held == 0:
        return np.arange(n), np.arange(0)
    if not 0 < n_held < n:
        raise DataError(f"{where}: {size} holds out {n_held} of {n} rows and leaves no training rows"
                        if n_held >= n else f"{where}: {size} must not be negative")
    order = rng.permutation(n)
    if y is None:
        take = np.arange(n) < n_held
    else:
        y = np.asarray(y)
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},), got {y.shape}")
        # Group the shuffled rows by class (stable sort keeps the shuffle within a class),
        # then hold out the first m_c rows of each group.
        order = order[np.argsort(y[order], kind="stable")]
        counts = np.bincount(y)
        quota = counts * (n_held / n)
        m = np.floor(quota).astype(np.int64)
        short = n_held - int(m.sum())
        m[np.argsort(m - quota, kind="stable")[:short]] += 1
        starts = np.cumsum(counts) - counts
        rank = np.arange(n) - np.repeat(starts, counts)
        take = rank < np.repeat(m, counts)
    return np.sort(order[~take]), np.sort(order[take])


FALLBACK_VAL_FRACTION = 0.1
"""What a validation split larger than the training split is clipped to (the default ``data.val_size``)."""


def validation_size(n: int, val_size: int | float, cap: int | None = None) -> tuple[int | float, str | None]:
    """``data.val_size`` for ``n`` rows, clipped when it would hold out more than it leaves to train on.

    Returns the size to hold out and, when it was clipped, a note naming both values. A
    count chosen for a large dataset (``val_size: 5000`` of MNIST's 60,000) would otherwise
    take most of a small one (the 8,000-image offline sample), with exit 0.
    """
    held = holdout_count(n, val_size, cap)
    if held <= n - held:
        return val_size, None
    clipped = holdout_count(n, FALLBACK_VAL_FRACTION, cap)
    return clipped, (f"data.val_size={val_size} would hold out {held} of the {n} training samples, more than it "
                     f"leaves to train on; holding out {clipped} ({FALLBACK_VAL_FRACTION:.0%}) instead (a count up "
                     f"to {n // 2} is used as given)")


def split_validation(train: Split, val_size: int | float, seed: int, *, cap: int | None = None,
                     where: str = "data.val_size") -> tuple[Split, Split | None]:
    """Hold out the validation split (stratified) from ``train``, drawn from ``seed``."""
    kept, held = holdout(len(train), val_size, np.random.default_rng(split_seed(seed)), _strata(train.y),
                         cap=cap, where=where)
    if not len(held):
        return train, None
    return train.take(kept), train.take(held)


def split_test(rows: Split, test_size: int | float, seed: int, where: str = "data.test_size") -> tuple[Split, Split]:
    """Hold out the test split (stratified) of data that has no separate test file or folder."""
    kept, held = holdout(len(rows), test_size, np.random.default_rng(test_seed(seed)), _strata(rows.y), where=where)
    if not len(held):
        raise DataError(f"{where}: {test_size} of {len(rows)} rows holds out no test rows")
    return rows.take(kept), rows.take(held)


def check_classes_present(y: np.ndarray, classes: Sequence[str], where: str) -> None:
    """Raise a DataError naming the first class of ``classes`` that has no sample in ``y``."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(classes))
    missing = [classes[int(i)] for i in np.flatnonzero(counts == 0)]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise DataError(f"{where}: no samples of class '{missing[0]}'{more}")


def _strata(y: np.ndarray) -> np.ndarray | None:
    """Class indices to stratify by; None (a plain random split) for regression or multilabel targets (n, k)."""
    return y if y.ndim == 1 and y.dtype.kind in "iu" else None
