"""One training step: forward a batch, measure the loss, backpropagate, update the parameters."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .losses import Loss
from .model import MLP
from .optimizers import Optimizer
from .sample_sgd import SampleSGD


class TrainStep:
    """Callable that trains ``model`` on one batch.

    Parameters
    ----------
    model, loss, opt
        The network, its loss and its optimizer (which owns the update of ``model.params``).
    sample_sgd : bool
        Take the fast single-sample path (:class:`SampleSGD`): batches of one, plain SGD, no
        dropout. The optimizer then only counts the steps.
    reduce : callable, optional
        Called on the flat gradient buffer ``model.grads`` after backpropagation and before
        the update (data-parallel training sums the gradients of all processes there).
    """

    def __init__(self, model: MLP, loss: Loss, opt: Optimizer, *, sample_sgd: bool = False,
                 reduce: Callable[[np.ndarray], None] | None = None):
        self.model, self.loss, self.opt, self.reduce = model, loss, opt, reduce
        self.one = SampleSGD(model) if sample_sgd else None

    def __call__(self, x: np.ndarray, y: np.ndarray, lr: float, rng: np.random.Generator,
                 delta_scale: float = 1.0, w: np.ndarray | None = None) -> tuple[float, int]:
        """Train on ``x (n, n_in)``, ``y (n,)``; returns the summed loss and the correct count.

        A non-finite loss is returned before any update, so the parameters stay as they were
        (without ``reduce``).
        ``delta_scale`` multiplies dL/dz (the loss averages over ``n``; data-parallel
        training averages over the global batch instead). ``w (n,)`` weighs the samples: the
        loss is then ``sum w_i l_i`` and its gradient is averaged over ``sum w_i`` (see ``losses``).
        """
        model, loss = self.model, self.loss
        out = self.one.forward(x) if self.one else model.forward(x, train=True, rng=rng)
        value = loss.value(out, y) if w is None else loss.value(out, y, w)
        if not math.isfinite(value) and self.reduce is None:
            # (With ``reduce``, every process must reach it, so the step goes on; the caller
            # sees the non-finite loss, summed over the processes, and stops all of them.)
            return value, 0
        correct = int(np.count_nonzero(out.argmax(axis=1) == y)) if loss.task == "classification" else 0
        delta = model.output_delta(len(y))
        if w is None:
            loss.delta(out, y, model.grad_output, delta)
        else:
            loss.delta(out, y, model.grad_output, delta, w)
        if delta_scale != 1.0:
            delta *= delta_scale
        if self.one:
            self.one.step(delta, lr)
            self.opt.count_step()
            return value, correct
        model.backward(delta)
        if self.reduce is not None:
            self.reduce(model.grads)
        self.opt.step(model.params, model.grads, lr)
        return value, correct
