"""Each optimizer step against its textbook formula; schedules against theirs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlpnet.nn import optimizers as optim, schedules
from mlpnet.errors import CheckpointError, ConfigError

N, K = 12, 8  # 12 parameters, the first 8 are "weights" (decayed), the last 4 "biases"


def _pg(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=N), rng.normal(size=(3, N))


def _run(opt, p, grads, lr):
    p = p.copy()
    for g in grads:
        opt.step(p, g.copy(), lr)
    return p


def _decay_mask():
    m = np.zeros(N)
    m[:K] = 1
    return m


@pytest.mark.parametrize("momentum,nesterov,wd", [(0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 0.0),
                                                   (0.0, False, 0.1), (0.8, True, 0.05)])
def test_sgd_matches_formula(momentum, nesterov, wd):
    p0, grads = _pg()
    got = _run(optim.build("sgd", N, K, dtype=np.float64, momentum=momentum, nesterov=nesterov, weight_decay=wd),
               p0, grads, 0.1)
    p, v = p0.copy(), np.zeros(N)
    for g in grads:
        g = g + wd * p * _decay_mask()
        if momentum:
            v = momentum * v + g
            p = p - 0.1 * (g + momentum * v if nesterov else v)
        else:
            p = p - 0.1 * g
    np.testing.assert_allclose(got, p, rtol=1e-12)


@pytest.mark.parametrize("name,wd", [("adam", 0.0), ("adam", 0.01), ("adamw", 0.01)])
def test_adam_and_adamw_match_formula(name, wd):
    p0, grads = _pg(1)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    got = _run(optim.build(name, N, K, dtype=np.float64, beta1=b1, beta2=b2, eps=eps, weight_decay=wd), p0, grads, lr)
    p, m, v = p0.copy(), np.zeros(N), np.zeros(N)
    for t, g in enumerate(grads, start=1):
        if name == "adamw":
            p = p - lr * wd * p * _decay_mask()
        else:
            g = g + wd * p * _decay_mask()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(got, p, rtol=1e-10)


def test_weight_decay_spares_biases():
    p = np.ones(N)
    opt = optim.build("adamw", N, K, dtype=np.float64, weight_decay=0.5)
    opt.step(p, np.zeros(N), 0.1)
    assert np.all(p[:K] < 1) and np.all(p[K:] == 1)


def test_state_round_trip_continues_identically():
    p0, grads = _pg(2)
    a = optim.build("adam", N, K, dtype=np.float32)
    p = p0.astype(np.float32)
    a.step(p, grads[0].astype(np.float32), 0.01)
    arrays, scalars = a.state_dict()
    b = optim.build("adam", N, K, dtype=np.float32)
    b.load_state_dict({k: v.copy() for k, v in arrays.items()}, scalars)
    pa, pb = p.copy(), p.copy()
    a.step(pa, grads[1].astype(np.float32), 0.01)
    b.step(pb, grads[1].astype(np.float32), 0.01)
    assert b.t == 2 and np.array_equal(pa, pb)


def test_state_mismatch_is_refused():
    a = optim.build("adam", N, K)
    with pytest.raises(CheckpointError, match="shape"):
        a.load_state_dict({"m": np.zeros(3), "v": np.zeros(3)}, {"name": "adam", "t": 1})
    with pytest.raises(CheckpointError, match="sgd"):
        a.load_state_dict({}, {"name": "sgd", "t": 1})


def test_unknown_optimizer_lists_choices():
    with pytest.raises(ConfigError, match="sgd, adam, adamw"):
        optim.build("rmsprop", N, K)


# Values no default has, so a repr that prints defaults (or nothing) cannot pass.
_OPTIONS = {"momentum": 0.37, "nesterov": True, "beta1": 0.71, "beta2": 0.93, "eps": 3e-5, "weight_decay": 0.013}


@pytest.mark.parametrize("name, title", [("sgd", "SGD"), ("adam", "Adam"), ("adamw", "AdamW")])
def test_repr_names_the_optimizer_and_shows_every_hyperparameter(name, title):
    text = repr(optim.build(name, N, K, **_OPTIONS))
    assert text.startswith(f"{title}(")
    for key in optim._ARGS[name]:
        assert f"{key}={_OPTIONS[key]!r}" in text, text


@pytest.mark.parametrize("name, shown", [
    ("constant", ["lr=0.3", "epochs=7", "warmup=1.5"]),
    ("step", ["lr=0.3", "epochs=7", "warmup=1.5", "step_size=3", "gamma=0.25"]),
    ("cosine", ["lr=0.3", "epochs=7", "warmup=1.5", "min_lr=0.002"]),
])
def test_schedule_repr_shows_every_parameter(name, shown):
    text = repr(schedules.build(name, 0.3, 7, 10, warmup=1.5, step_size=3, gamma=0.25, min_lr=0.002))
    assert text.startswith(name.capitalize() + "(") and all(s in text for s in shown), text


def test_schedules_match_formulas():
    spe = 10
    c = schedules.build("constant", 0.1, 5, spe)
    assert c(0) == c(49) == 0.1
    s = schedules.build("step", 0.1, 30, spe, step_size=2, gamma=0.5)
    assert s(0) == 0.1 and s(19) == 0.1 and s(20) == 0.05 and s(45) == 0.025
    cos = schedules.build("cosine", 0.1, 10, spe, min_lr=0.01)
    assert cos(0) == pytest.approx(0.1)
    assert cos(50) == pytest.approx(0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert cos(100) == pytest.approx(0.01)


def test_warmup_ramps_linearly_then_hands_over():
    w = schedules.build("cosine", 0.1, 10, 10, warmup=2)
    assert w(0) == pytest.approx(0.1 / 20) and w(9) == pytest.approx(0.05) and w(19) == pytest.approx(0.1)
    assert w(20) == pytest.approx(0.1) and w(60) == pytest.approx(0.05)


def test_unknown_schedule_lists_choices():
    with pytest.raises(ConfigError, match="constant, step, cosine"):
        schedules.build("linear", 0.1, 1, 1)
