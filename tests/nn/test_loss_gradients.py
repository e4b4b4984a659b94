"""The regression and multilabel losses: values against their formulas, and whole-network
gradients against central differences in float64, with and without sample weights."""

from __future__ import annotations

import numpy as np
import pytest

from mlpnet.nn import MLP, Architecture, losses


def _net(output: str, k: int, seed: int = 0) -> MLP:
    net = MLP(Architecture((4, 6, k), "tanh", output, dtype="float64"))
    rng = np.random.default_rng(seed)
    net.params[...] = rng.normal(0, 0.7, net.n_params)
    return net


def _targets(name: str, n: int, k: int, rng) -> np.ndarray:
    if name == "binary_cross_entropy":
        return rng.integers(0, 2, (n, k)).astype(np.float64)
    return rng.normal(0, 1.5, (n, k))


CASES = [("squared_error", "identity"), ("absolute_error", "identity"), ("huber", "identity"),
         ("binary_cross_entropy", "sigmoid")]


@pytest.mark.parametrize("name,output", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_backprop_matches_central_differences(name, output, weighted):
    rng = np.random.default_rng(1)
    n, k = 9, 3
    x = rng.normal(size=(n, 4))
    y = _targets(name, n, k, rng)
    w = rng.uniform(0, 3, n) if weighted else None
    norm = w.sum() if weighted else n
    net, loss = _net(output, k), losses.get(name)
    out = net.forward(x)
    delta = net.output_delta(n)
    loss.delta(out, y, net.grad_output, delta, w)
    net.backward(delta)
    analytic = net.grads.copy()
    numeric = np.empty_like(analytic)
    h = 1e-6
    for i in range(net.n_params):
        keep = net.params[i]
        net.params[i] = keep + h
        up = loss.value(net.forward(x), y, w)
        net.params[i] = keep - h
        down = loss.value(net.forward(x), y, w)
        net.params[i] = keep
        numeric[i] = (up - down) / (2 * h) / norm
    # the absolute loss has a kink at r = 0 and Huber one at |r| = delta; random residuals avoid both
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_values_follow_their_formulas():
    r = np.array([[0.5, -2.0], [3.0, 0.0]])
    y = np.zeros_like(r)
    assert losses.get("squared_error").value(r, y) == pytest.approx(0.5 * (0.25 + 4 + 9))
    assert losses.get("absolute_error").value(r, y) == pytest.approx(5.5)
    # huber with delta 1: 0.125 + (2 - 0.5) + (3 - 0.5) + 0
    assert losses.get("huber").value(r, y) == pytest.approx(0.125 + 1.5 + 2.5)
    assert losses.get("huber", huber_delta=2.0).value(r, y) == pytest.approx(0.125 + 2.0 + 2 * (3 - 1))
    p = np.array([[0.9, 0.2]])
    t = np.array([[1.0, 0.0]])
    assert losses.get("binary_cross_entropy").value(p, t) == pytest.approx(-np.log(0.9) - np.log(0.8))


def test_a_weight_of_two_is_the_row_given_twice():
    rng = np.random.default_rng(4)
    out, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    w = np.array([1.0, 2.0, 0.0, 1.0, 3.0])
    rows = np.repeat(np.arange(5), w.astype(int))
    for name in ("squared_error", "absolute_error", "huber"):
        loss = losses.get(name)
        assert loss.value(out, y, w) == pytest.approx(loss.value(out[rows], y[rows]))
        d_w, d_r = np.empty_like(out), np.empty((len(rows), 2))
        loss.delta(out, y, lambda a, d: None, d_w, w)
        loss.delta(out[rows], y[rows], lambda a, d: None, d_r)
        summed = np.zeros_like(out)
        np.add.at(summed, rows, d_r)
        np.testing.assert_allclose(d_w, summed, rtol=1e-12)


def test_each_loss_names_its_task_and_output():
    assert {n: c.task for n, c in losses.LOSSES.items()} == {
        "cross_entropy": "classification", "mse": "classification", "squared_error": "regression",
        "absolute_error": "regression", "huber": "regression", "binary_cross_entropy": "multilabel"}
    assert losses.LOSSES["huber"].outputs == ("identity",)
    assert losses.LOSSES["binary_cross_entropy"].outputs == ("sigmoid",)
