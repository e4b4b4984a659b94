"""Matrix products split over threads: bit-identical to one call, errors surface, threads stop."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from mlpnet.parallel import MatmulPool


def _helpers() -> int:
    return sum(t.name == "mlpnet-matmul" for t in threading.enumerate())


@pytest.mark.parametrize("m,k,n", [(128, 784, 128), (784, 128, 128), (50, 30, 200), (3, 5, 2), (17, 9, 33)])
@pytest.mark.parametrize("threads", [2, 3])
def test_split_product_is_bit_identical(m, k, n, threads):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    with MatmulPool(threads, min_work=0) as pool:
        pool.matmul(a, b, out)
        assert np.array_equal(out, a @ b)
        # transposed operands, as in the backward pass, and an output that is a view
        view = np.empty((n, m + 4), np.float32)[:, 2:m + 2]
        pool.matmul(b.T, a.T, view)
        assert np.array_equal(view, b.T @ a.T)


def test_small_products_stay_in_the_calling_thread(monkeypatch):
    pool = MatmulPool(2)
    a = np.ones((4, 4), np.float32)
    out = np.empty_like(a)
    pool.matmul(a, a, out)  # below min_work: no helper involved, nothing queued
    assert pool._helpers[0].tasks.empty() and pool._helpers[0].replies.empty()
    pool.close()


def test_helper_errors_reach_the_caller_and_leave_no_stale_reply():
    with MatmulPool(2, min_work=0) as pool:
        a = np.ones((64, 8), np.float32)
        with pytest.raises(TypeError):
            pool.matmul(a, np.ones((8, 8), np.float32), np.empty((64, 8), np.int8))  # cannot cast to int8
        out = np.empty((64, 8), np.float32)
        pool.matmul(a, np.ones((8, 8), np.float32), out)
        assert np.all(out == 8)


def test_close_stops_threads_and_matmul_still_works():
    before = _helpers()
    pool = MatmulPool(3)
    assert _helpers() == before + 2
    pool.close()
    assert _helpers() == before
    out = np.empty((2, 2))
    pool.matmul(np.eye(2), np.eye(2), out)
    assert np.array_equal(out, np.eye(2))
    assert MatmulPool(1)._helpers == []
