"""Label smoothing: the value against its definition, the delta against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from mlpnet.nn import activations, losses
from mlpnet.errors import ConfigError


def _logits(n=7, k=5, seed=0):
    return np.random.default_rng(seed).normal(0, 2, (n, k)), np.random.default_rng(seed + 1).integers(0, k, n)


def _probs(z):
    p = z.copy()
    activations.softmax(p)
    return p


@pytest.mark.parametrize("s", [0.0, 0.1, 0.3])
def test_smoothed_value_is_cross_entropy_against_the_soft_target(s):
    z, y = _logits()
    p = _probs(z)
    k = z.shape[1]
    q = np.full_like(p, s / k)
    q[np.arange(len(y)), y] += 1 - s
    want = -(q * np.log(p)).sum()
    assert losses.get("cross_entropy", s).value(p, y) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("s", [0.1, 0.25])
def test_smoothed_delta_matches_central_differences(s):
    z, y = _logits(seed=3)
    loss = losses.get("cross_entropy", s)
    delta = np.empty_like(z)
    loss.delta(_probs(z), y, None, delta)
    numeric = np.empty_like(z)
    h = 1e-6
    for idx in np.ndindex(*z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (loss.value(_probs(up), y) - loss.value(_probs(down), y)) / (2 * h) / len(y)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)


def test_zero_smoothing_is_plain_cross_entropy_and_mse_refuses_it():
    z, y = _logits()
    p = _probs(z)
    assert losses.get("cross_entropy", 0.0).value(p, y) == losses.get("cross_entropy").value(p, y)
    assert repr(losses.get("cross_entropy", 0.1)) == "CrossEntropy(smoothing=0.1)"
    with pytest.raises(ConfigError, match="label_smoothing"):
        losses.get("mse", 0.1)
