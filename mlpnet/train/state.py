"""What changes during training and must survive a resume, and how a checkpoint restores it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..checkpoint import Checkpoint
from ..errors import CheckpointError, TrainingError
from ..metrics import TIEBREAK, better
from ..nn import MLP
from ..nn.optimizers import Optimizer



@dataclass
class TrainState:
    """Counters, the best epoch so far and the history of epoch rows."""

    epoch: int = 0
    step: int = 0
    best_epoch: int = 0
    best_value: float = math.nan
    best_tiebreak: float = math.nan
    wait: int = 0
    history: list[dict] = field(default_factory=list)

    def improves(self, row: dict, monitor: str) -> bool:
        """Whether ``row`` beats the best epoch: a better monitored value, or an equal one
        with a better tie-breaker (accuracy ties on small validation sets are common)."""
        value, other = row[monitor], row[TIEBREAK[monitor]]
        if math.isnan(value):
            return False
        if math.isnan(self.best_value):
            return True
        if value != self.best_value:
            return better(monitor, value, self.best_value)
        if math.isnan(other) or math.isnan(self.best_tiebreak):
            return False
        return better(TIEBREAK[monitor], other, self.best_tiebreak)

    def record_best(self, row: dict, monitor: str) -> None:
        self.best_epoch, self.best_value, self.wait = row["epoch"], row[monitor], 0
        self.best_tiebreak = row[TIEBREAK[monitor]]

    def to_meta(self, monitor: str) -> dict:
        """The :class:`~mlpnet.checkpoint.Meta` fields this state fills."""
        return {"epoch": self.epoch, "step": self.step, "wait": self.wait, "history": self.history,
                "best": {"epoch": self.best_epoch, "monitor": monitor, "value": self.best_value,
                         "tiebreak": self.best_tiebreak}}


def restore(ckpt: Checkpoint, model: MLP, opt: Optimizer, rng: np.random.Generator, path) -> TrainState:
    """Load parameters, optimizer state and RNG state from ``last.npz``; return the counters."""
    meta = ckpt.meta
    if ckpt.model.arch.sizes != model.arch.sizes:
        raise CheckpointError(f"{path}: the checkpoint's network {list(ckpt.model.arch.sizes)} does not fit "
                              f"the data ({list(model.arch.sizes)})")
    model.params[...] = ckpt.model.params
    opt.load_state_dict(ckpt.group("optim"), meta.optimizer)
    rng.bit_generator.state = meta.rng
    best = meta.best
    return TrainState(epoch=meta.epoch, step=meta.step, best_epoch=int(best["epoch"]),
                      best_value=float(best["value"]), best_tiebreak=float(best.get("tiebreak", math.nan)),
                      wait=meta.wait, history=[dict(r) for r in meta.history])


def check_resumable(ckpt: Checkpoint, path) -> None:
    """Refuse a checkpoint without training state (``best.npz``, a model saved from Python).

    The optimizer's scalars and the generator's state mark a resumable ``last.npz``; its
    state *arrays* may be none at all (plain SGD keeps no buffer), so they cannot.
    """
    if not ckpt.meta.resumable:
        raise CheckpointError(f"{path}: this checkpoint has no training state to resume from "
                              "(best.npz and models saved from Python hold none); use the run's last.npz")


def check_more_epochs(state: TrainState, epochs: int, path) -> None:
    if state.epoch >= epochs:
        raise TrainingError(f"{path}: this run already trained {state.epoch} epochs (train.epochs is "
                            f"{epochs}); to continue it set a larger total, e.g. "
                            f"--set train.epochs={state.epoch * 2}")
