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
    """-sum_j q_j log p_j with a softmax output, against the target q = onehot(y).

    With label smoothing ``s`` the target is q = (1 - s) onehot(y) + s / k (k classes):
    the network is asked for probability 1 - s + s/k on the true class, not 1, so it stops
    pushing the logits apart once it is right, which regularises the last layers.

    Parameters
    ----------
    smoothing : float
        Label smoothing ``s`` in [0, 1); 0 is plain cross-entropy.
    """

    name = "cross_entropy"
    outputs = ("softmax",)

    def __init__(self, smoothing: float = 0.0):
        self.smoothing = float(smoothing)

    def value(self, out: np.ndarray, y: np.ndarray) -> float:
        picked = out[self._rows(len(y)), y]
        nll = float(-np.log(np.maximum(picked, _TINY)).sum(dtype=np.float64))
        if not self.smoothing:
            return nll
        s, k = self.smoothing, out.shape[1]
        # -sum_j q_j log p_j = (1 - s) (-log p_y) + (s / k) sum_j (-log p_j)
        every = float(-np.log(np.maximum(out, _TINY)).sum(dtype=np.float64))
        return (1.0 - s) * nll + s / k * every

    def delta(self, out: np.ndarray, y: np.ndarray, grad_out: Callable, delta: np.ndarray) -> None:
        # For softmax followed by cross-entropy the chain rule collapses: dL/dz = p - q,
        # with q the (smoothed) one-hot target. Using this fused form avoids the softmax
        # Jacobian and its cancellation error.
        n = len(y)
        np.copyto(delta, out)
        if self.smoothing:
            delta -= self.smoothing / out.shape[1]
        delta[self._rows(n), y] -= 1.0 - self.smoothing
        delta *= 1.0 / n

    def __repr__(self) -> str:
        return f"CrossEntropy(smoothing={self.smoothing})" if self.smoothing else "CrossEntropy()"


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


def get(name: str, label_smoothing: float = 0.0) -> Loss:
    """Build the loss registered under ``name``; unknown names list the valid ones.

    ``label_smoothing`` (cross-entropy only) softens the one-hot target, see ``CrossEntropy``.
    """
    try:
        cls = LOSSES[name]
    except KeyError:
        raise ConfigError(f"loss: unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
    if label_smoothing:
        if cls is not CrossEntropy:
            raise ConfigError(f"label_smoothing: applies to cross_entropy, not to {name!r}")
        return cls(label_smoothing)
    return cls()
