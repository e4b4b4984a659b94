"""scikit-learn's stochastic training loop, on mlpnet's network: what ``MLPClassifier.fit`` and
``MLPRegressor.fit`` run.

The CLI's loop (:mod:`mlpnet.train.loop`) trains a run: a folder, checkpoints, resume, epochs
planned ahead. An estimator's ``fit`` means something else, fixed by scikit-learn: iterate
until the training loss (or the validation score) stops improving by ``tol`` for
``n_iter_no_change`` epochs, or ``max_iter`` epochs; ``partial_fit`` runs one epoch and keeps
every piece of state for the next call; sample weights weigh each row's loss. This module is
that loop, on the same network, losses and optimizers as the CLI, with one workspace per fit
and the epoch order drawn as an index permutation.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..nn import MLP
from ..nn.losses import Loss
from ..nn.optimizers import Optimizer

MIN_ADAPTIVE_LR = 1e-6
"""``learning_rate="adaptive"`` stops once dividing by 5 takes the rate below this (as scikit-learn)."""


@dataclass
class Progress:
    """What a fit carries from one epoch (and one ``partial_fit`` call) to the next."""

    loss_curve: list[float] = field(default_factory=list)
    validation_scores: list[float] | None = None
    best_loss: float | None = math.inf
    best_validation_score: float | None = None
    best_params: np.ndarray | None = None
    no_improvement: int = 0
    n_iter: int = 0
    t: int = 0
    lr: float = 1e-3


@dataclass
class Settings:
    """The scikit-learn parameters the loop reads (see ``mlpnet.estimator``)."""

    batch_size: int
    max_iter: int
    shuffle: bool
    tol: float
    n_iter_no_change: int
    alpha: float
    learning_rate: str
    learning_rate_init: float
    power_t: float
    solver: str
    verbose: bool


def fit_epochs(model: MLP, loss: Loss, opt: Optimizer, x, y: np.ndarray, w: np.ndarray | None, s: Settings,
               progress: Progress, rng: np.random.Generator, *, incremental: bool = False,
               val_score: Callable[[], float] | None = None, echo: Callable[[str], None] = print) -> bool:
    """Train ``model`` for up to ``s.max_iter`` epochs (one when ``incremental``); True if it converged.

    Parameters
    ----------
    x : ndarray (n, n_in) of the model's dtype, or scipy CSR
        Network inputs (already standardized).
    y : ndarray (n,) int64 class indices, or (n, k) float targets
    w : ndarray (n,) or None
        Sample weights (class weights folded in).
    val_score : callable, optional
        With early stopping: the current model's validation score (higher is better).
    """
    n = x.shape[0]
    batch = max(1, min(s.batch_size, n))
    full = batch >= n  # one batch per epoch: no gathering, the order does not matter
    sparse = hasattr(x, "tocsr")
    xbuf = None if full or sparse else np.empty((batch, x.shape[1]), x.dtype)
    ybuf = None if full else np.empty((batch, *y.shape[1:]), y.dtype)
    wbuf = None if full or w is None else np.empty(batch, w.dtype)
    weights, grad_w = model.params[:model.n_weights], model.grads[:model.n_weights]
    tmp = np.empty_like(weights) if s.alpha else None
    converged = False
    for _ in range(1 if incremental else s.max_iter):
        order = rng.permutation(n) if s.shuffle and not full else np.arange(n)
        total = 0.0
        for start in range(0, n, batch):
            if full:
                xb, yb, wb = x, y, w
            else:
                idx = order[start:start + batch]
                m = len(idx)
                xb = x[idx] if sparse else np.take(x, idx, axis=0, out=xbuf[:m], mode="clip")
                yb = np.take(y, idx, axis=0, out=ybuf[:m], mode="clip")
                wb = None if w is None else np.take(w, idx, out=wbuf[:m], mode="clip")
            m = xb.shape[0]
            out = model.forward(xb, train=True, rng=rng)
            norm = float(m if wb is None else wb.sum(dtype=np.float64))
            value = loss.value(out, yb, wb)
            delta = model.output_delta(m)
            loss.delta(out, yb, model.grad_output, delta, wb)
            model.backward(delta)
            if s.alpha and norm > 0:
                # L2 penalty alpha/2 ||W||^2 per batch, over the batch's total weight (scikit-learn's)
                value += 0.5 * s.alpha * float(np.dot(weights, weights))
                np.multiply(weights, s.alpha / norm, out=tmp)
                grad_w += tmp
            total += (value / norm if norm > 0 else 0.0) * m
            opt.step(model.params, model.grads, progress.lr)
        progress.n_iter += 1
        progress.t += n
        epoch_loss = total / n
        progress.loss_curve.append(epoch_loss)
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(f"the training loss became {epoch_loss} at iteration {progress.n_iter}; "
                                     "lower learning_rate_init or scale the inputs")
        if s.verbose:
            echo(f"Iteration {progress.n_iter}, loss = {epoch_loss:.8f}")
        _track(model, progress, s, val_score, echo)
        if s.solver == "sgd" and s.learning_rate == "invscaling":
            progress.lr = s.learning_rate_init / (progress.t + 1) ** s.power_t
        if progress.no_improvement > s.n_iter_no_change:
            if s.solver == "sgd" and s.learning_rate == "adaptive" and progress.lr / 5.0 >= MIN_ADAPTIVE_LR:
                progress.lr /= 5.0
                progress.no_improvement = 0
                if s.verbose:
                    echo(f"Setting learning rate to {progress.lr:f}")
            else:
                if s.verbose:
                    what = "Validation score" if val_score else "Training loss"
                    echo(f"{what} did not improve more than tol={s.tol:f} for {s.n_iter_no_change} consecutive "
                         "epochs. Stopping.")
                converged = True
                break
    if val_score is not None and progress.best_params is not None:
        model.params[...] = progress.best_params
    return converged


def _track(model: MLP, p: Progress, s: Settings, val_score, echo) -> None:
    """Count epochs without improvement (of the validation score, else of the training loss) and keep the best."""
    if val_score is not None:
        score = float(val_score())
        p.validation_scores.append(score)
        if s.verbose:
            echo(f"Validation score: {score:f}")
        p.no_improvement = p.no_improvement + 1 if score < p.best_validation_score + s.tol else 0
        if score > p.best_validation_score:
            p.best_validation_score = score
            p.best_params = model.params.copy()
        return
    last = p.loss_curve[-1]
    p.no_improvement = p.no_improvement + 1 if last > p.best_loss - s.tol else 0
    p.best_loss = min(p.best_loss, last)


def warn_not_converged(max_iter: int, category) -> None:
    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the optimization hasn't "
                  "converged yet.", category, stacklevel=3)
