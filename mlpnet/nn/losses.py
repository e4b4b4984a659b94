"""Loss functions, each pairing its value with the gradient at the output pre-activation.

Classification losses take integer class indices ``y (n,)``; one-hot targets are never
materialised. Regression and multilabel losses take float targets ``y (n, k)`` (values, or
0/1 indicators). Every method works on the network output ``out (n, k)`` after the output
activation, and takes optional per-sample weights ``w (n,)``: the value is then
``sum_i w_i l_i`` and the gradient ``w_i dl_i / sum_i w_i`` (scikit-learn's convention, so a
weight of 2 is the same as the row given twice).
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
    task = "classification"
    """What the targets are: ``classification`` (class indices), ``regression`` (values),
    ``multilabel`` (0/1 indicators)."""

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

    def value(self, out: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        picked = out[self._rows(len(y)), y]
        if w is not None:
            nll = _weighted_sum(-np.log(np.maximum(picked.astype(np.float64), _TINY)), w)
        else:
            nll = float(-np.log(np.maximum(picked, _TINY)).sum(dtype=np.float64))
        if not self.smoothing:
            return nll
        s, k = self.smoothing, out.shape[1]
        # -sum_j q_j log p_j = (1 - s) (-log p_y) + (s / k) sum_j (-log p_j)
        logs = -np.log(np.maximum(out.astype(np.float64), _TINY)).sum(axis=1)
        return (1.0 - s) * nll + s / k * _weighted_sum(logs, w)

    def delta(self, out: np.ndarray, y: np.ndarray, grad_out: Callable, delta: np.ndarray,
              w: np.ndarray | None = None) -> None:
        # For softmax followed by cross-entropy the chain rule collapses: dL/dz = p - q,
        # with q the (smoothed) one-hot target. Using this fused form avoids the softmax
        # Jacobian and its cancellation error.
        n = len(y)
        np.copyto(delta, out)
        if self.smoothing:
            delta -= self.smoothing / out.shape[1]
        delta[self._rows(n), y] -= 1.0 - self.smoothing
        _weighted_mean_grad(delta, w)

    def __repr__(self) -> str:
        return f"CrossEntropy(smoothing={self.smoothing})" if self.smoothing else "CrossEntropy()"


class SquaredError(Loss):
    """Quadratic cost 1/2 ||a - onehot(y)||^2 per sample, as in the seed article."""

    name = "mse"
    outputs = ("sigmoid", "identity")

    def value(self, out: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        err = out.astype(np.float64)
        err[self._rows(len(y)), y] -= 1.0
        return _weighted_sum(0.5 * np.einsum("ij,ij->i", err, err), w)

    def delta(self, out: np.ndarray, y: np.ndarray, grad_out: Callable, delta: np.ndarray,
              w: np.ndarray | None = None) -> None:
        # dL/dz = (a - onehot(y)) * f'(z) / n
        n = len(y)
        np.copyto(delta, out)
        delta[self._rows(n), y] -= 1.0
        grad_out(out, delta)
        _weighted_mean_grad(delta, w)


def _weighted_mean_grad(delta: np.ndarray, w: np.ndarray | None) -> None:
    """Turn per-sample gradients in ``delta`` (n, k) into the batch mean, weighted by ``w`` (n,)."""
    if w is None:
        delta *= 1.0 / len(delta)
        return
    total = float(w.sum(dtype=np.float64))
    delta *= w[:, None]
    delta *= 1.0 / total if total > 0 else 0.0


def _weighted_sum(per_sample: np.ndarray, w: np.ndarray | None) -> float:
    return float(per_sample.sum(dtype=np.float64) if w is None else np.dot(per_sample, w.astype(np.float64)))


class RegressionLoss(Loss):
    """A loss of the residual ``r = a - y`` on an identity output, summed over the k targets.

    Subclasses give ``per_sample(r) -> (n,)`` and ``grad(r, out)``, dl/da written into ``out``.
    """

    outputs = ("identity",)
    task = "regression"

    def value(self, out: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        r = out.astype(np.float64) - y
        return _weighted_sum(self.per_sample(r), w)

    def delta(self, out: np.ndarray, y: np.ndarray, grad_out: Callable, delta: np.ndarray,
              w: np.ndarray | None = None) -> None:
        np.subtract(out, y, out=delta)
        self.grad(delta, delta)
        grad_out(out, delta)
        _weighted_mean_grad(delta, w)

    def per_sample(self, r: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def grad(self, r: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError


class HalfSquaredError(RegressionLoss):
    """l = 1/2 sum_j r_j^2; dl/da = r. The default for regression (scikit-learn's ``squared_error``)."""

    name = "squared_error"

    def per_sample(self, r):
        return 0.5 * np.einsum("ij,ij->i", r, r)

    def grad(self, r, out):
        if out is not r:
            np.copyto(out, r)


class AbsoluteError(RegressionLoss):
    """l = sum_j |r_j|; dl/da = sign(r): the median, not the mean, is what it fits."""

    name = "absolute_error"

    def per_sample(self, r):
        return np.abs(r).sum(axis=1)

    def grad(self, r, out):
        np.sign(r, out=out)


class Huber(RegressionLoss):
    """Quadratic for small residuals, linear beyond ``delta`` (Huber 1964).

    l = r^2 / 2 for |r| <= delta, else delta (|r| - delta / 2); dl/da = clip(r, -delta, delta).
    Targets are standardized for training, so ``delta`` is in standard deviations.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0):
        self.delta_ = float(delta)

    def per_sample(self, r):
        d = self.delta_
        a = np.abs(r)
        return np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d)).sum(axis=1)

    def grad(self, r, out):
        np.clip(r, -self.delta_, self.delta_, out=out)

    def __repr__(self) -> str:
        return f"Huber(delta={self.delta_})"


class BinaryCrossEntropy(Loss):
    """-sum_j [y_j log p_j + (1 - y_j) log(1 - p_j)] over k independent sigmoid outputs (multilabel)."""

    name = "binary_cross_entropy"
    outputs = ("sigmoid",)
    task = "multilabel"

    def value(self, out: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> float:
        p = np.clip(out.astype(np.float64), _TINY, 1.0 - _TINY)
        per = -(y * np.log(p) + (1.0 - y) * np.log1p(-p)).sum(axis=1)
        return _weighted_sum(per, w)

    def delta(self, out: np.ndarray, y: np.ndarray, grad_out: Callable, delta: np.ndarray,
              w: np.ndarray | None = None) -> None:
        # Sigmoid followed by binary cross-entropy: dL/dz = p - y, as for softmax with
        # cross-entropy, so the sigmoid's derivative (grad_out) is never applied.
        np.subtract(out, y, out=delta)
        _weighted_mean_grad(delta, w)


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (CrossEntropy, SquaredError, HalfSquaredError,
                                                            AbsoluteError, Huber, BinaryCrossEntropy)}
TASKS = ("classification", "regression", "multilabel")
"""What a model predicts; each loss serves one of them (``Loss.task``)."""
DEFAULT_LOSS = {"classification": "cross_entropy", "regression": "squared_error",
                "multilabel": "binary_cross_entropy"}


def get(name: str, label_smoothing: float = 0.0, huber_delta: float = 1.0) -> Loss:
    """Build the loss registered under ``name``; unknown names list the valid ones.

    ``label_smoothing`` (cross-entropy only) softens the one-hot target, see ``CrossEntropy``;
    ``huber_delta`` is where the Huber loss turns linear.
    """
    try:
        cls = LOSSES[name]
    except KeyError:
        raise ConfigError(f"loss: unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
    if label_smoothing:
        if cls is not CrossEntropy:
            raise ConfigError(f"label_smoothing: applies to cross_entropy, not to {name!r}")
        return cls(label_smoothing)
    if cls is Huber:
        return cls(huber_delta)
    return cls()
