"""Tests for mlpnet.metrics against hand-computed cases and plain-loop references."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpnet.metrics import (
    Accumulator,
    confusion_matrix,
    format_report,
    per_class,
    top_k_accuracy,
)

# --- plain-loop references -------------------------------------------------------------


def loop_confusion(y_true: list[int], y_pred: list[int], k: int) -> list[list[int]]:
    cm = [[0] * k for _ in range(k)]
    for t, p in zip(y_true, y_pred):
        cm[t][p] += 1
    return cm


def loop_scores(cm: list[list[int]]) -> list[tuple[float, float, float, int]]:
    k = len(cm)
    rows = []
    for c in range(k):
        tp = cm[c][c]
        predicted = sum(cm[r][c] for r in range(k))
        support = sum(cm[c])
        p = tp / predicted if predicted else 0.0
        r = tp / support if support else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        rows.append((p, r, f, support))
    return rows


def loop_top_k(probs: np.ndarray, y: np.ndarray, k: int) -> float:
    hits = 0
    for row, label in zip(probs, y):
        ranked = sorted(range(len(row)), key=lambda j: -row[j])
        hits += label in ranked[:k]
    return hits / len(y)


# --- hand-computed cases ---------------------------------------------------------------


def test_confusion_matrix_by_hand() -> None:
    cm = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_confusion_matrix_rejects_bad_labels() -> None:
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix(np.array([0, 1]), np.array([0]), 3)
    with pytest.raises(ValueError, match="integer"):
        confusion_matrix(np.array([0.0]), np.array([0]), 3)


def test_per_class_by_hand() -> None:
    cm = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    s = per_class(cm)
    np.testing.assert_allclose(s["precision"], [1 / 2, 1 / 2, 1])
    np.testing.assert_allclose(s["recall"], [1 / 2, 1, 2 / 3])
    np.testing.assert_allclose(s["f1"], [1 / 2, 2 / 3, 4 / 5])
    np.testing.assert_array_equal(s["support"], [2, 1, 3])


def test_per_class_zero_where_undefined_without_warnings() -> None:
    cm = np.array([[2, 0, 0], [0, 0, 0], [1, 0, 0]])  # class 1 absent; class 2 never right
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = per_class(cm)
    np.testing.assert_allclose(s["precision"], [2 / 3, 0, 0])
    np.testing.assert_allclose(s["recall"], [1, 0, 0])
    np.testing.assert_allclose(s["f1"], [0.8, 0, 0])


def test_top_k_by_hand() -> None:
    probs = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    y = np.array([1, 0, 0])
    assert top_k_accuracy(probs, y, 1) == pytest.approx(1 / 3)
    assert top_k_accuracy(probs, y, 2) == pytest.approx(2 / 3)
    assert top_k_accuracy(probs, y, 3) == pytest.approx(2 / 3)
    assert top_k_accuracy(probs, y, 4) == 1.0
    assert np.isnan(top_k_accuracy(np.zeros((0, 4)), np.zeros(0, np.int64), 2))


# --- against loops on random data ------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    k=st.integers(1, 12),
    n=st.integers(0, 200),
    seed=st.integers(0, 2**32 - 1),
)
def test_confusion_and_scores_match_loops(k: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, k, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    cm = confusion_matrix(y_true, y_pred, k)
    expected = loop_confusion(y_true.tolist(), y_pred.tolist(), k)
    np.testing.assert_array_equal(cm, expected)
    s = per_class(cm)
    ref = np.array(loop_scores(expected), dtype=np.float64).reshape(k, 4)
    np.testing.assert_allclose(s["precision"], ref[:, 0])
    np.testing.assert_allclose(s["recall"], ref[:, 1])
    np.testing.assert_allclose(s["f1"], ref[:, 2])
    np.testing.assert_array_equal(s["support"], ref[:, 3])


@settings(max_examples=40, deadline=None)
@given(k=st.integers(2, 15), n=st.integers(1, 100), seed=st.integers(0, 2**32 - 1))
def test_top_k_matches_loop(k: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(k), n)  # continuous: no ties
    y = rng.integers(0, k, n)
    for top in range(1, k + 1):
        assert top_k_accuracy(probs, y, top) == pytest.approx(loop_top_k(probs, y, top))


def test_accumulator_batches_equal_one_pass() -> None:
    rng = np.random.default_rng(3)
    n, k = 1000, 10
    y = rng.integers(0, k, n)
    probs = rng.dirichlet(np.ones(k), n)
    probs[np.arange(n), y] += rng.random(n)
    probs /= probs.sum(axis=1, keepdims=True)
    losses = -np.log(probs[np.arange(n), y])

    acc = Accumulator(k)
    for lo in range(0, n, 128):  # last batch is partial
        sl = slice(lo, lo + 128)
        acc.update(probs[sl], y[sl], float(losses[sl].sum()))
    r = acc.result()

    assert r.n == n
    assert r.loss == pytest.approx(losses.mean())
    assert r.accuracy == pytest.approx(np.mean(probs.argmax(1) == y))
    assert set(r.top_k) == {3, 5}
    for top in (3, 5):
        assert r.top_k[top] == pytest.approx(loop_top_k(probs, y, top))
    cm = loop_confusion(y.tolist(), probs.argmax(1).tolist(), k)
    np.testing.assert_array_equal(r.confusion_matrix, cm)
    ref = np.array(loop_scores(cm))
    np.testing.assert_allclose(r.f1, ref[:, 2])
    assert r.macro["precision"] == pytest.approx(ref[:, 0].mean())
    assert r.macro["f1"] == pytest.approx(ref[:, 2].mean())
    assert r.classes == [str(i) for i in range(k)]


def test_top_k_only_below_class_count() -> None:
    acc = Accumulator(4)
    acc.update(np.eye(4), np.arange(4), 0.0)
    assert set(acc.result().top_k) == {3}
    acc = Accumulator(3)
    acc.update(np.eye(3), np.arange(3), 0.0)
    assert acc.result().top_k == {}


def test_macro_skips_classes_never_seen() -> None:
    acc = Accumulator(3)
    acc.update(np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]]), np.array([0, 0]), 1.0)
    r = acc.result(["a", "b", "c"])
    # Class c occurs neither as label nor prediction: averaged over a and b only.
    assert r.macro["precision"] == pytest.approx((1.0 + 0.0) / 2)
    assert r.macro["recall"] == pytest.approx((0.5 + 0.0) / 2)


def test_accumulator_errors() -> None:
    acc = Accumulator(3)
    with pytest.raises(ValueError, match="no samples"):
        acc.result()
    with pytest.raises(ValueError, match=r"shape \(b, 3\)"):
        acc.update(np.zeros((2, 4)), np.zeros(2, np.int64), 0.0)
    acc.update(np.eye(3), np.arange(3), 0.0)
    with pytest.raises(ValueError, match="2 class names for 3"):
        acc.result(["a", "b"])


def test_to_dict_is_json_with_the_documented_keys() -> None:
    acc = Accumulator(6)
    acc.update(np.eye(6)[[0, 1, 2, 3, 4, 5, 0]], np.array([0, 1, 2, 3, 4, 5, 1]))
    d = json.loads(json.dumps(acc.result(list("abcdef")).to_dict(), allow_nan=False))
    assert {"n", "loss", "accuracy", "top_k", "confusion_matrix", "per_class", "macro"} <= set(d)
    assert d["n"] == 7 and d["loss"] is None  # no loss given: NaN becomes null
    assert d["classes"] == list("abcdef")
    assert d["top_k"] == {"3": 1.0, "5": 1.0}
    assert d["confusion_matrix"][1] == [1, 1, 0, 0, 0, 0]
    assert d["per_class"][0] == {
        "label": "a",
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "support": 1,
    }
    assert set(d["macro"]) == {"precision", "recall", "f1"}


# --- terminal report -------------------------------------------------------------------

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]


def small_report(classes: list[str]):
    k = len(classes)
    acc = Accumulator(k)
    y = np.arange(3 * k) % k
    pred = np.where(np.arange(3 * k) % 4 == 0, (y + 1) % k, y)
    acc.update(np.eye(k)[pred] * 0.9 + 0.1 / k, y, 1.5 * 3 * k)
    return acc.result(classes)


def test_format_report_aligns_long_names() -> None:
    text = format_report(small_report(FASHION))
    lines = text.splitlines()
    assert lines[0].startswith("n=15  loss=1.5000  accuracy=")
    assert "top-3=" in lines[0] and "top-5" not in lines[0]
    table = [ln for ln in lines if ln.startswith(tuple(FASHION)) or ln.startswith("macro avg")]
    # Per-class rows and matrix rows both start with a name; the table ones come first.
    rows = table[: len(FASHION) + 1]
    assert len({len(r) for r in rows}) == 1, "per-class columns are not aligned"
    assert rows[-1].startswith("macro avg")
    header = next(ln for ln in lines if ln.startswith("class"))
    assert header.split() == ["class", "precision", "recall", "f1", "support"]
    # Matrix: long names -> index column heads, rows "i name".
    i = lines.index("confusion matrix (rows: true class, columns: predicted class)")
    assert lines[i + 1].split()[-5:] == ["0", "1", "2", "3", "4"]
    assert lines[i + 2].split()[:2] == ["0", "T-shirt/top"]
    assert len({len(r) for r in lines[i + 1 :]}) == 1


def test_format_report_short_names_head_the_columns() -> None:
    lines = format_report(small_report(["cat", "dog", "ant"])).splitlines()
    corner = next(ln for ln in lines if ln.startswith("true \\ pred"))
    assert corner.split()[-3:] == ["cat", "dog", "ant"]


def test_format_report_omits_big_matrices() -> None:
    text = format_report(small_report([f"class {i}" for i in range(26)]))
    assert "confusion matrix omitted for 26 classes" in text and "--json" in text


def test_format_report_clips_very_long_names() -> None:
    text = format_report(small_report(["x" * 60, "short"]), max_name=24)
    assert "x" * 21 + "..." in text and "x" * 25 not in text
