"""Subnormal numbers never build up in optimizer state, and the flush that prevents it is deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from mlpnet import checkpoint, config
from mlpnet.nn import MLP, Architecture, activations, losses
from mlpnet.nn import optimizers as optim
from mlpnet.nn.sample_sgd import SampleSGD
from mlpnet.train import api as trainer

TINY32 = np.finfo(np.float32).tiny


def _subnormal(a: np.ndarray) -> int:
    a = np.abs(a)
    return int(np.count_nonzero((a > 0) & (a < np.finfo(a.dtype).tiny)))


@pytest.mark.parametrize("name,kw", [("adam", {}), ("adamw", {"weight_decay": 0.01}),
                                     ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.5, "nesterov": True}),
                                     ("adam", {"beta1": 0.5, "beta2": 0.9})])
def test_a_gradient_that_stops_leaves_no_subnormal_state(name, kw):
    """A gradient seen once then zero for good (a pixel that is almost always 0) decays the
    moment geometrically; without the flush it reaches the subnormal range."""
    n = 64
    params = np.zeros(n, np.float32)
    g0 = np.random.default_rng(0).normal(0, 1e-3, n).astype(np.float32)
    zero = np.zeros(n, np.float32)

    def run(flush_every):
        opt = optim.build(name, n, n // 2, dtype=np.float32, **kw)
        seen = 0
        for t in range(1200):
            opt.step(params.copy(), (g0 if t == 0 else zero).copy(), 1e-3)
            seen = max(seen, *(_subnormal(s) for s in opt.state.values()))
        return opt, seen

    saved = optim.FLUSH_EVERY
    try:
        optim.FLUSH_EVERY = 10**9
        _, without = run(None)
    finally:
        optim.FLUSH_EVERY = saved
    assert without > 0, "the test no longer produces subnormals without the flush"
    _, with_flush = run(saved)
    assert with_flush == 0


def test_flush_happens_only_on_multiples_of_the_step_counter():
    opt = optim.build("adam", 4, 2, dtype=np.float32)
    opt.state["m"][:] = [1e-33, -1e-33, 1.0, 0.0]
    for _ in range(optim.FLUSH_EVERY - 1):
        opt.t += 1
    before = opt.state["m"].copy()
    opt.count_step()                      # counted updates elsewhere do not flush
    assert np.array_equal(opt.state["m"], before)
    opt.t = optim.FLUSH_EVERY - 1
    opt.step(np.zeros(4, np.float32), np.zeros(4, np.float32), 0.0)
    assert opt.t % optim.FLUSH_EVERY == 0
    assert list(opt.state["m"][:2]) == [0.0, 0.0] and opt.state["m"][2] == np.float32(0.9)


def test_flush_threshold_outlasts_the_period():
    """No value above the threshold can decay below the normal range before the next flush."""
    for name, kw in [("adam", {}), ("adam", {"beta1": 0.6}), ("sgd", {"momentum": 0.99}), ("sgd", {"momentum": 0.6})]:
        opt = optim.build(name, 8, 4, dtype=np.float32, **kw)
        opt.flush_tiny()
        for key in opt.state:
            assert optim.FLUSH_BELOW <= opt._below[key] <= optim.FLUSH_CAP
            assert opt._below[key] * opt._decay_of(key) ** optim.FLUSH_EVERY >= TINY32 * 0.999
    strong = optim.build("adam", 8, 4, dtype=np.float32, beta1=0.5)
    strong.flush_tiny()
    assert strong._below["m"] == optim.FLUSH_CAP


def test_softmax_never_returns_subnormal_probabilities():
    z = np.array([[0.0, -100.0, -1000.0, 5.0]], np.float32)
    activations.softmax(z)
    assert _subnormal(z) == 0 and z[0, 2] > 0 and abs(z.sum() - 1) < 1e-6


def _rare_pixel_npz(path, n_train=1200):
    """Shapes on a black frame: a band of pixels that are always 0, and rare pixels, each lit
    in a single training image (image 100 k lights pixel k of the top row)."""
    from conftest import draw_shape

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, n_train + 100)
    x = np.stack([draw_shape(int(k), rng) for k in y])
    x[:, :4, :] = 0
    x[:, -4:, :] = 0
    for k in range(n_train // 100):
        x[100 * k, 0, k] = 200
    np.savez(path, x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:], y_test=y[n_train:])
    return path


@pytest.mark.parametrize("extra", [["optimizer.name=adam", "model.activation=relu"],
                                   ["optimizer.name=sgd", "optimizer.momentum=0.9", "optimizer.lr=0.05",
                                    "model.activation=sigmoid"],
                                   ["optimizer.name=adamw", "optimizer.weight_decay=0.01", "model.activation=tanh"]])
def test_training_with_dead_and_rare_inputs_keeps_state_normal(tmp_path, monkeypatch, extra):
    npz = _rare_pixel_npz(tmp_path / "rare.npz")
    cfg = config.load(None, ["data.dataset=npz", f"data.path={npz}", "data.val_size=0", "model.hidden=[8]",
                             "model.dropout=0.0", "train.batch_size=1", "train.epochs=1", "train.shuffle=false", "train.threads=1",
                             "schedule.name=constant",
                             *extra])

    def state(out):
        trainer.train(cfg, (), out, progress=False, echo=lambda s: None)
        ck = checkpoint.load(out / "last.npz")
        return sum(_subnormal(a) for a in ck.group("optim").values()) + _subnormal(ck.model.params)

    monkeypatch.setattr(optim, "FLUSH_EVERY", 10**9)
    assert state(tmp_path / "unflushed") > 0, "this data no longer produces subnormals without the flush"
    monkeypatch.undo()
    assert state(tmp_path / "flushed") == 0


def test_batch_of_one_seed_network_keeps_its_buffers_normal():
    """The seed network's per-sample path (sigmoid, squared error) on inputs with a dead band: it
    keeps no optimizer state, and its deltas and activations stay normal."""
    rng = np.random.default_rng(1)
    model = MLP(Architecture((784, 16, 8, 4), "sigmoid", "sigmoid")).init("uniform", rng)
    one = SampleSGD(model)
    loss = losses.get("mse")
    x = rng.random((400, 784)).astype(np.float32)
    x[:, :200] = 0
    y = rng.integers(0, 4, 400)
    worst = 0
    for epoch in range(3):
        for i in range(400):
            out = one.forward(x[i:i + 1])
            delta = np.empty_like(out)
            loss.delta(out, y[i:i + 1], model.grad_output, delta)
            one.step(delta, 0.5)
            worst = max(worst, _subnormal(model.params), *(_subnormal(b) for b in one._delta + one._z + one._outer))
    assert worst == 0


def test_resume_across_flushes_is_bit_identical(tmp_path):
    """The flush runs on multiples of the stored step counter: a run split in two flushes at the same steps."""
    npz = _rare_pixel_npz(tmp_path / "rare.npz", n_train=600)
    cfg = lambda epochs: config.load(None, [  # noqa: E731
        "data.dataset=npz", f"data.path={npz}", "data.val_size=0", "model.hidden=[8]", "model.dropout=0.0",
        "train.batch_size=8", f"train.epochs={epochs}", "schedule.name=constant", "train.threads=1",
        "train.min_steps=0"])
    run = lambda c, out, **kw: trainer.train(c, kw.pop("overrides", ()), out, progress=False,  # noqa: E731
                                             echo=lambda s: None, **kw)
    run(cfg(4), tmp_path / "straight")
    run(cfg(2), tmp_path / "split")                      # 75 steps per epoch: flushes at 64, 128, ...
    run(None, tmp_path / "split", resume=tmp_path / "split/last.npz", overrides=["train.epochs=4"])
    a, b = checkpoint.load(tmp_path / "straight/last.npz"), checkpoint.load(tmp_path / "split/last.npz")
    assert a.meta.step == b.meta.step == 300
    assert np.array_equal(a.model.params, b.model.params)
    for k, v in a.group("optim").items():
        assert np.array_equal(v, b.group("optim")[k])
