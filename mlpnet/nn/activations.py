"""Activation functions as small in-place operations, looked up by name.

Each activation works in place on a pre-activation array ``z`` (turning it into the
activation ``a``) and multiplies an incoming gradient by ``f'(z)`` expressed through
``a`` alone, so the backward pass never needs ``z`` again and no extra buffer is kept.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError

Forward = Callable[[np.ndarray], None]
Backward = Callable[[np.ndarray, np.ndarray], None]

LEAKY_SLOPE = 0.01


def _identity(z: np.ndarray) -> None:
    """a = z."""


def _identity_grad(a: np.ndarray, delta: np.ndarray) -> None:
    """f'(z) = 1."""


def _sigmoid(z: np.ndarray) -> None:
    # sigmoid(z) = (1 + tanh(z / 2)) / 2: same value as 1 / (1 + exp(-z)), but it cannot
    # overflow and takes three in-place passes instead of four.
    z *= 0.5
    np.tanh(z, out=z)
    z += 1.0
    z *= 0.5


def _sigmoid_grad(a: np.ndarray, delta: np.ndarray) -> None:
    # sigmoid'(z) = a (1 - a)
    delta *= a
    delta -= delta * a


def _tanh(z: np.ndarray) -> None:
    np.tanh(z, out=z)


def _tanh_grad(a: np.ndarray, delta: np.ndarray) -> None:
    # tanh'(z) = 1 - a^2
    delta -= delta * a * a


def _relu(z: np.ndarray) -> None:
    np.maximum(z, 0, out=z)


def _relu_grad(a: np.ndarray, delta: np.ndarray) -> None:
    # relu'(z) = [z > 0] = [a > 0]; multiply by the boolean mask without a float copy.
    np.multiply(delta, a > 0, out=delta)


def _leaky_relu(z: np.ndarray) -> None:
    # max(z, slope * z) equals leaky_relu for 0 < slope < 1.
    np.maximum(z, z * LEAKY_SLOPE, out=z)


def _leaky_relu_grad(a: np.ndarray, delta: np.ndarray) -> None:
    np.multiply(delta, np.where(a > 0, 1.0, LEAKY_SLOPE).astype(delta.dtype, copy=False), out=delta)


SOFTMAX_FLOOR = -64.0
"""Shifted logits are raised to at least this before exp: exp(-64) = 1.6e-28, so no
probability, and no output delta p / n derived from it, is ever a subnormal number
(below 1.2e-38), whose arithmetic is many times slower. A class that far below the best
one has a probability under 1e-27 either way."""


def softmax(z: np.ndarray) -> None:
    """Row-wise softmax of ``z`` (n, k) in place, shifted by the row maximum for stability."""
    z -= z.max(axis=1, keepdims=True)
    np.maximum(z, SOFTMAX_FLOOR, out=z)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)


HIDDEN: dict[str, tuple[Forward, Backward]] = {
    "identity": (_identity, _identity_grad),
    "sigmoid": (_sigmoid, _sigmoid_grad),
    "tanh": (_tanh, _tanh_grad),
    "relu": (_relu, _relu_grad),
    "leaky_relu": (_leaky_relu, _leaky_relu_grad),
}
"""Hidden-layer activations: name -> (forward in place, multiply delta by f')."""

OUTPUT: dict[str, tuple[Forward, Backward]] = {
    "softmax": (softmax, _identity_grad),  # its Jacobian is folded into the loss (see losses.py)
    "sigmoid": (_sigmoid, _sigmoid_grad),
    "identity": (_identity, _identity_grad),
}
"""Output activations; softmax's derivative is fused with cross-entropy, never applied alone."""


def hidden(name: str) -> tuple[Forward, Backward]:
    """Look up a hidden activation, failing with the list of valid names."""
    return _lookup(HIDDEN, name, "model.activation")


def output(name: str) -> tuple[Forward, Backward]:
    """Look up an output activation, failing with the list of valid names."""
    return _lookup(OUTPUT, name, "model.output")


def _lookup(table: dict, name: str, key: str):
    try:
        return table[name]
    except KeyError:
        raise ConfigError(f"{key}: unknown activation {name!r}; choose one of {', '.join(table)}") from None
