"""The network: shapes, gradients against finite differences, dropout."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mlpnet.nn import losses
from mlpnet.nn.model import MLP, Architecture

PAIRS = [("cross_entropy", "softmax"), ("mse", "sigmoid"), ("mse", "identity")]
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu"]


def _net(act, out, dropout=0.0, sizes=(5, 7, 6, 4), seed=0):
    m = MLP(Architecture(sizes, act, out, dropout, dtype="float64"))
    m.init("xavier", np.random.default_rng(seed))
    # Non-zero biases so that every path of the gradient is exercised.
    m.params[m.n_weights:] = np.random.default_rng(seed + 1).normal(0, 0.3, m.n_params - m.n_weights)
    return m


def _batch_loss(model, loss, x, y):
    return loss.value(model.forward(x), y) / len(y)


@pytest.mark.parametrize("act,loss_name,out", [(a, l, o) for a, (l, o) in itertools.product(HIDDEN, PAIRS)])
def test_gradient_matches_central_differences(act, loss_name, out):
    rng = np.random.default_rng(42)
    model, loss = _net(act, out), losses.get(loss_name)
    x = rng.normal(size=(9, 5))
    y = rng.integers(0, 4, 9)
    outp = model.forward(x)
    delta = model.output_delta(9)
    loss.delta(outp, y, model.grad_output, delta)
    model.backward(delta)
    analytic = model.grads.copy()
    numeric = np.empty_like(analytic)
    h = 1e-6
    for i in range(model.n_params):
        keep = model.params[i]
        model.params[i] = keep + h
        up = _batch_loss(model, loss, x, y)
        model.params[i] = keep - h
        down = _batch_loss(model, loss, x, y)
        model.params[i] = keep
        numeric[i] = (up - down) / (2 * h)
    # leaky_relu/relu have kinks; inputs are generic so no unit sits exactly on one.
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_dropout_gradient_uses_the_same_mask():
    """With dropout the gradient must be that of the thinned network actually run."""
    rng = np.random.default_rng(3)
    model, loss = _net("tanh", "softmax", dropout=0.3), losses.get("cross_entropy")
    x, y = rng.normal(size=(6, 5)), rng.integers(0, 4, 6)
    model.forward(x, train=True, rng=np.random.default_rng(7))
    masks = [m[:6].copy() for m in model._ws.kept]
    assert any((m == 0).any() for m in masks) and all(set(np.unique(m)) <= {0.0, 1 / 0.7} for m in masks)
    out = model.forward(x, train=True, rng=np.random.default_rng(7))
    d = model.output_delta(6)
    loss.delta(out, y, model.grad_output, d)
    model.backward(d)
    analytic = model.grads.copy()

    def f():
        return loss.value(model.forward(x, train=True, rng=np.random.default_rng(7)), y) / 6

    h = 1e-6
    for i in (0, 17, model.n_weights + 2):
        keep = model.params[i]
        model.params[i] = keep + h
        up = f()
        model.params[i] = keep - h
        down = f()
        model.params[i] = keep
        assert abs((up - down) / (2 * h) - analytic[i]) < 1e-6


def test_shapes_and_float32():
    m = MLP(Architecture((784, 128, 64, 10))).init("he", np.random.default_rng(0))
    assert [w.shape for w in m.weights] == [(784, 128), (128, 64), (64, 10)]
    assert [b.shape for b in m.biases] == [(128,), (64,), (10,)]
    assert m.params.dtype == np.float32 and all(w.dtype == np.float32 for w in m.weights)
    # weights and biases are views of one flat buffer
    m.weights[1][0, 0] = 123.0
    assert 123.0 in m.params
    out = m.forward(np.random.default_rng(1).random((33, 784), dtype=np.float32))
    assert out.shape == (33, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_partial_batch_reuses_workspace():
    m = MLP(Architecture((4, 3, 2))).init("he", np.random.default_rng(0))
    x = np.random.default_rng(0).random((8, 4), dtype=np.float32)
    full = m.forward(x).copy()
    ws = m._ws
    part = m.forward(x[:3])
    assert m._ws is ws  # no reallocation for a smaller batch
    np.testing.assert_allclose(part, full[:3], rtol=1e-6)


def test_predict_proba_batches_agree_with_one_forward():
    m = MLP(Architecture((6, 5, 3))).init("he", np.random.default_rng(0))
    x = np.random.default_rng(1).random((50, 6), dtype=np.float32)
    np.testing.assert_allclose(m.predict_proba(x, batch_size=7), m.forward(x), rtol=1e-6)


@pytest.mark.parametrize("scheme", ["he", "xavier", "uniform"])
def test_initializers_are_seeded_and_scaled(scheme):
    a = MLP(Architecture((300, 200, 10))).init(scheme, np.random.default_rng(5))
    b = MLP(Architecture((300, 200, 10))).init(scheme, np.random.default_rng(5))
    np.testing.assert_array_equal(a.params, b.params)
    std = a.weights[0].std()
    expected = {"he": np.sqrt(2 / 300), "xavier": np.sqrt(2 / 500), "uniform": np.sqrt(1 / 12)}[scheme]
    assert abs(std - expected) / expected < 0.05


def test_repr_is_readable():
    m = MLP(Architecture((784, 128, 64, 10), "sigmoid", "sigmoid"))
    assert "784-128-64-10" in repr(m) and "sigmoid" in repr(m)


@pytest.mark.parametrize("act,loss_name,out", [("sigmoid", "mse", "sigmoid"), ("relu", "cross_entropy", "softmax"),
                                               ("tanh", "mse", "identity")])
def test_single_sample_sgd_matches_batched_path(act, loss_name, out):
    """SampleSGD's forward + step is forward + backward + plain SGD for a batch of one."""
    from mlpnet.nn import optimizers as optim
    from mlpnet.nn.sample_sgd import SampleSGD

    rng = np.random.default_rng(5)
    fast, ref, loss = _net(act, out), _net(act, out), losses.get(loss_name)
    ref_opt = optim.build("sgd", ref.n_params, ref.n_weights, dtype=np.float64)
    grads_before = fast.grads.copy()
    one = SampleSGD(fast)
    for _ in range(20):
        x, y = rng.normal(size=(1, 5)), rng.integers(0, 4, 1)
        got = one.forward(x)
        want = ref.forward(x, train=True)
        np.testing.assert_allclose(got, want, rtol=1e-13)
        for m, o in ((fast, got), (ref, want)):
            loss.delta(o, y, m.grad_output, m.output_delta(1))
        one.step(fast.output_delta(1), 0.3)
        ref.backward(ref.output_delta(1))
        ref_opt.step(ref.params, ref.grads, 0.3)
        np.testing.assert_allclose(fast.params, ref.params, rtol=1e-12, atol=1e-14)
    assert np.array_equal(fast.grads, grads_before)  # the fast path writes no gradient buffer

