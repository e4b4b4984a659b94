"""Learning-rate schedules: the rate as a function of the global step, with optional warmup.

Schedules are defined in epochs (possibly fractional) and evaluated per step, so the
rate changes smoothly within an epoch and resuming at a step reproduces it exactly.
"""

from __future__ import annotations

import math

from ..errors import ConfigError


class Schedule:
    """Base class. ``warmup`` epochs ramp linearly from lr/warmup_steps up to ``lr``.

    Parameters
    ----------
    lr : float
        Peak learning rate.
    epochs : int
        Planned length of training; cosine decays over it.
    steps_per_epoch : int
        Batches per epoch, to turn steps into fractional epochs.
    warmup : float
        Warmup length in epochs (0 = none).
    """

    name = ""

    def __init__(self, lr: float, epochs: int, steps_per_epoch: int, warmup: float = 0.0):
        self.lr, self.epochs, self.steps_per_epoch, self.warmup = lr, epochs, steps_per_epoch, warmup

    def __call__(self, step: int) -> float:
        """Learning rate for the update numbered ``step`` (0-based)."""
        warm_steps = self.warmup * self.steps_per_epoch
        if step < warm_steps:
            return self.lr * (step + 1) / warm_steps
        return self._rate(step / self.steps_per_epoch)

    def _rate(self, epoch: float) -> float:
        raise NotImplementedError

    def hyperparams(self) -> dict:
        """Every constructor argument (for repr and for rebuilding the schedule)."""
        return {"lr": self.lr, "epochs": self.epochs, "steps_per_epoch": self.steps_per_epoch, "warmup": self.warmup}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams().items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    name = "constant"

    def _rate(self, epoch):
        return self.lr


class Step(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs."""

    name = "step"

    def __init__(self, lr, epochs, steps_per_epoch, warmup=0.0, step_size: int = 10, gamma: float = 0.1):
        super().__init__(lr, epochs, steps_per_epoch, warmup)
        self.step_size, self.gamma = step_size, gamma

    def hyperparams(self):
        return {**super().hyperparams(), "step_size": self.step_size, "gamma": self.gamma}

    def _rate(self, epoch):
        return self.lr * self.gamma ** math.floor(epoch / self.step_size)


class Cosine(Schedule):
    """Half-cosine from ``lr`` down to ``min_lr`` between the end of warmup and ``epochs``."""

    name = "cosine"

    def __init__(self, lr, epochs, steps_per_epoch, warmup=0.0, min_lr: float = 0.0):
        super().__init__(lr, epochs, steps_per_epoch, warmup)
        self.min_lr = min_lr

    def hyperparams(self):
        return {**super().hyperparams(), "min_lr": self.min_lr}

    def _rate(self, epoch):
        span = max(self.epochs - self.warmup, 1e-12)
        progress = min(max((epoch - self.warmup) / span, 0.0), 1.0)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


SCHEDULES: dict[str, type[Schedule]] = {cls.name: cls for cls in (Constant, Step, Cosine)}


def build(name: str, lr: float, epochs: int, steps_per_epoch: int, *, warmup: float = 0.0,
          step_size: int = 10, gamma: float = 0.1, min_lr: float = 0.0) -> Schedule:
    """Build the schedule registered under ``name``."""
    if name not in SCHEDULES:
        raise ConfigError(f"schedule.name: unknown schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    if name == "step":
        return Step(lr, epochs, steps_per_epoch, warmup, step_size=step_size, gamma=gamma)
    if name == "cosine":
        return Cosine(lr, epochs, steps_per_epoch, warmup, min_lr=min_lr)
    return Constant(lr, epochs, steps_per_epoch, warmup)
