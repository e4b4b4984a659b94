"""Loss functions, each pairing its value with the gradient at the output pre-activation.

Labels are integer class indices ``y (n,)``; one-hot targets are never materialised.
Both methods work on the network output ``out (n, k)`` after the output activation.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError

# Smallest probability fed to log(); keeps the loss finite when a class gets p == 0.
_TINY = 1e-12


class Loss:
    """Base class: ``value`` is the *sum* over the batch, ``delta`` the batch-mean gradient."""

    name = ""
    outputs: tuple[str, ...] = ()
    """Output activations this loss can be paired with; the first is the default."""

    def value(self, out: np.ndarray, y: np.ndarray) -> float:
        """Summed loss over the batch (callers divide by the sample count)."""
        raise NotImplementedError

    def delta(self, out: np.ndarray, y: np.ndarray, grad_out: Callable, delta: np.ndarray) -> None:
        """Write dL/dz of the output layer into ``delta`` (n, k), averaged over the batch.

        ``grad_out(a, delta)`` multiplies ``delta`` in place by the output activation's
        derivative; cross-entropy skips it because its formula already includes softmax.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    _arange = np.arange(0)

    def _rows(self, n: int) -> np.ndarray:
        """``arange(n)`` without allocating one per batch: ``out[rows, y]`` picks each sample's class."""
        if len(self._arange) < n:
            self._arange = np.arange(n)
        return self._arange[:n]


class CrossEntropy(Loss):
    """-log p_y with a softmax output."""

    name = "cross_entropy"
    outputs = ("softmax",)

    def value(self, out: np.ndarray, y: np.ndarray) -> float:
        picked = out[self._rows(len(y)), y]
        return float(-np.log(np.maximum(picked, _TINY)).sum(dtype=np.float64))

    def delta(self, out: np.ndarray, y: np.ndarray, grad_out: Callable, delta: np.ndarray) -> None:
        # For softmax followed by cross-entropy the chain rule collapses: dL/dz = p - onehot(y).
        # Using this fused form avoids the softmax Jacobian and its cancellation error.
        n = len(y)
        np.copyto(delta, out)
        delta[self._rows(n), y] -= 1.0
        delta *= 1.0 / n


class SquaredError(Loss):
    """Quadratic cost 1/2 ||a - onehot(y)||^2 per sample, as in the seed article."""

    name = "mse"
    outputs = ("sigmoid", "identity")

    def value(self, out: np.ndarray, y: np.ndarray) -> float:
        err = out.astype(np.float64)
        err[self._rows(len(y)), y] -= 1.0
        return float(0.5 * np.einsum("ij,ij->", err, err))

    def delta(self, out: np.ndarray, y: np.ndarray, grad_out: Callable, delta: np.ndarray) -> None:
        # dL/dz = (a - onehot(y)) * f'(z) / n
        n = len(y)
        np.copyto(delta, out)
        delta[self._rows(n), y] -= 1.0
        grad_out(out, delta)
        delta *= 1.0 / n


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (CrossEntropy, SquaredError)}


def get(name: str) -> Loss:
    """Build the loss registered under ``name``; unknown names list the valid ones."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ConfigError(f"loss: unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
