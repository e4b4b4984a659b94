"""Regression guard for the training loop's speed, as a ratio to a hand-written NumPy loop.

Absolute times mean nothing on shared CI machines, so the test times mlpnet's trainer
and a careful reference loop written here (preallocated buffers, in-place Adam over one
flat buffer, uint8 rows gathered per batch) on the same data, alternating the two, and
compares medians. Both run BLAS on one thread, which is also the least noisy setting.
A few seconds in all. ``scripts/bench.py`` runs the same reference loop on Fashion-MNIST
(as ``numpy-ref``) to put it beside mlpnet, PyTorch and the matrix-product floor.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pytest
from conftest import make_blobs_npz
from threadpoolctl import threadpool_limits

from mlpnet import config
from mlpnet.train import api as trainer

pytestmark = pytest.mark.slow  # it times things

BOUND = 1.5
"""mlpnet's epoch may take at most this many times the reference loop's (it is about 1.0-1.1)."""

SIZES = (784, 128, 64, 10)
BATCH = 128
ROUNDS = 5
EPOCHS = 3


def reference_epoch(x_u8: np.ndarray, y: np.ndarray, rng: np.random.Generator, state: dict) -> float:
    """One epoch of a plain NumPy MLP (ReLU, softmax cross-entropy, Adam lr 1e-3); returns seconds."""
    params, grads, m, v, tmp = state["flat"]
    ws, bs, gws, gbs = state["views"]
    zs, ds, xb, ones = state["buffers"]
    n = len(y)
    t0 = time.perf_counter()
    order = rng.permutation(n)
    for b in range(math.ceil(n / BATCH)):
        idx = order[b * BATCH:(b + 1) * BATCH]
        k = len(idx)
        x = xb[:k]
        np.multiply(x_u8[idx], np.float32(1 / 255), out=x)
        yb = y[idx]
        a = x
        for i, (w, bias) in enumerate(zip(ws, bs)):
            z = zs[i][:k]
            np.matmul(a, w, out=z)
            z += bias
            if i < len(ws) - 1:
                np.maximum(z, 0, out=z)
            a = z
        out = zs[-1][:k]
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        state["loss"] += float(-np.log(np.maximum(out[np.arange(k), yb], 1e-12)).sum())
        state["correct"] += int(np.count_nonzero(out.argmax(axis=1) == yb))
        d = ds[-1][:k]
        np.copyto(d, out)
        d[np.arange(k), yb] -= 1
        d *= 1 / k
        for i in range(len(ws) - 1, -1, -1):
            a_prev = x if i == 0 else zs[i - 1][:k]
            np.matmul(a_prev.T, d, out=gws[i])
            np.matmul(ones[:k], d, out=gbs[i])
            if i:
                prev = ds[i - 1][:k]
                np.matmul(d, ws[i].T, out=prev)
                prev *= zs[i - 1][:k] > 0
                d = prev
        state["t"] += 1
        t = state["t"]
        # Adam in place: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, bias corrections as scalars.
        m *= 0.9
        np.multiply(grads, 0.1, out=tmp)
        m += tmp
        np.multiply(grads, grads, out=grads)
        v *= 0.999
        np.multiply(grads, 0.001, out=tmp)
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += 1e-8 * math.sqrt(1 - 0.999 ** t)
        np.divide(m, tmp, out=tmp)
        tmp *= 1e-3 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        params -= tmp
    return time.perf_counter() - t0


def reference_state(rng: np.random.Generator) -> dict:
    shapes = list(zip(SIZES[:-1], SIZES[1:]))
    n_w = sum(i * o for i, o in shapes)
    n_p = n_w + sum(SIZES[1:])
    flat = [np.zeros(n_p, np.float32) for _ in range(5)]
    params, grads = flat[0], flat[1]
    params[:n_w] = rng.normal(0, 0.05, n_w)

    def views(buf):
        w, b, wo, bo = [], [], 0, n_w
        for i, o in shapes:
            w.append(buf[wo:wo + i * o].reshape(i, o))
            b.append(buf[bo:bo + o])
            wo, bo = wo + i * o, bo + o
        return w, b

    (ws, bs), (gws, gbs) = views(params), views(grads)
    buffers = ([np.empty((BATCH, o), np.float32) for o in SIZES[1:]],
               [np.empty((BATCH, o), np.float32) for o in SIZES[1:]],
               np.empty((BATCH, SIZES[0]), np.float32), np.ones(BATCH, np.float32))
    return {"flat": flat, "views": (ws, bs, gws, gbs), "buffers": buffers, "t": 0, "loss": 0.0, "correct": 0}


def mlpnet_epochs(npz, out) -> list[float]:
    cfg = config.load(None, ["data.dataset=npz", f"data.path={npz}", "data.val_size=0", "model.hidden=[128, 64]",
                             "model.dropout=0.0", "model.activation=relu", "optimizer.name=adam",
                             "schedule.name=constant", f"train.batch_size={BATCH}", f"train.epochs={EPOCHS}",
                             "train.threads=1"])
    res = trainer.train(cfg, (), out, overwrite=True, progress=False, echo=lambda s: None)
    return [r["seconds"] for r in res.history]


def test_training_loop_is_not_slower_than_a_plain_numpy_loop(tmp_path):
    npz = make_blobs_npz(tmp_path / "d.npz", n_train=6000, n_test=10, n_classes=10)
    with np.load(npz) as f:
        x_u8, y = f["x_train"].reshape(6000, -1).copy(), f["y_train"]
    rng = np.random.default_rng(0)
    state = reference_state(rng)
    ours, ref = [], []
    for r in range(ROUNDS):
        # alternate which goes first, so a burst of load elsewhere hits both alike
        runs = [lambda: ours.extend(mlpnet_epochs(npz, tmp_path / "run")[1:]),
                lambda: ref.extend(reference_epoch(x_u8, y, rng, state) for _ in range(EPOCHS - 1))]
        for run in (runs if r % 2 == 0 else runs[::-1]):
            with threadpool_limits(1, user_api="blas"):
                run()
    ratio = statistics.median(ours) / statistics.median(ref)
    assert ratio < BOUND, (f"mlpnet's epoch takes {ratio:.2f}x the reference NumPy loop's (bound {BOUND}); "
                           f"medians {statistics.median(ours) * 1e3:.1f} ms vs {statistics.median(ref) * 1e3:.1f} ms")
