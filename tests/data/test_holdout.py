"""Tests for mlpnet.data.holdout: the one seeded, stratified split behind test and validation sets."""

from __future__ import annotations

import numpy as np
import pytest

from mlpnet.data.dataset import Split
from mlpnet.data.holdout import check_classes_present, holdout, split_test, split_validation
from mlpnet.errors import DataError


# --- holdout ---------------------------------------------------------------------------


def test_split_is_deterministic_disjoint_and_complete() -> None:
    a = holdout(100, 0.2, np.random.default_rng(5))
    b = holdout(100, 0.2, np.random.default_rng(5))
    c = holdout(100, 0.2, np.random.default_rng(6))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])
    train, test = a
    assert len(test) == 20 and len(train) == 80
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(100))


def test_split_by_count_and_stratified() -> None:
    y = np.repeat([0, 1, 2], [50, 30, 20])
    train, test = holdout(100, 10, np.random.default_rng(0), y=y)
    assert len(test) == 10
    np.testing.assert_array_equal(np.bincount(y[test]), [5, 3, 2])
    # Largest remainder: 7 of 100 from classes of 50/30/20 -> 3.5/2.1/1.4 -> 4/2/1.
    train, test = holdout(100, 7, np.random.default_rng(0), y=y)
    np.testing.assert_array_equal(np.bincount(y[test], minlength=3), [4, 2, 1])


@pytest.mark.parametrize("size", [100, 0.999, 250])
def test_split_must_leave_training_rows(size: float) -> None:
    with pytest.raises(DataError, match="data.val_size: .* leaves no training rows"):
        holdout(100, size, np.random.default_rng(0), where="data.val_size")


@pytest.mark.parametrize("size", [0, 0.001])
def test_nothing_held_out(size: float) -> None:
    kept, held = holdout(100, size, np.random.default_rng(0))
    assert len(held) == 0 and np.array_equal(kept, np.arange(100))


def test_fraction_is_capped_and_count_is_not() -> None:
    assert len(holdout(1000, 0.5, np.random.default_rng(0), cap=30)[1]) == 30
    assert len(holdout(1000, 300, np.random.default_rng(0), cap=30)[1]) == 300


def test_test_split_needs_a_row() -> None:
    rows = Split(np.zeros((10, 2), np.float32), np.arange(10) % 2)
    with pytest.raises(DataError, match="data.test_size: 0.01 of 10 rows holds out no test rows"):
        split_test(rows, 0.01, 0)


def test_validation_split_is_stratified_and_seeded() -> None:
    y = np.repeat([0, 1], [90, 10])
    rows = Split(np.arange(100, dtype=np.float32)[:, None], y)
    tr, val = split_validation(rows, 0.2, seed=3)
    tr2, val2 = split_validation(rows, 0.2, seed=3)
    assert np.array_equal(val.x, val2.x) and np.bincount(val.y).tolist() == [18, 2]
    assert sorted(np.concatenate([tr.x[:, 0], val.x[:, 0]]).tolist()) == list(range(100))


def test_check_classes_present_names_the_class() -> None:
    check_classes_present(np.array([0, 1, 2]), ["a", "b", "c"], "train")
    with pytest.raises(DataError, match=r"training split of d\.csv: no samples of class 'b'"):
        check_classes_present(np.array([0, 2]), ["a", "b", "c"], "training split of d.csv")
    with pytest.raises(DataError, match=r"class 'a' \(and 1 more\)"):
        check_classes_present(np.array([2]), ["a", "b", "c"], "test")
