"""From a config to the objects a run trains with: model, optimizer, schedule and step."""

from __future__ import annotations

import os

from ..config import Config
from ..errors import ConfigError
from ..nn import MLP, Architecture, TrainStep, losses, optimizers, schedules

_BYTES_PER_PARAM = 4 * 6
"""float32 parameters, gradients, up to three optimizer buffers, and one best copy."""


def build_model(cfg: Config, n_features: int, n_classes: int) -> MLP:
    """The network a config describes, for data of the given width and class count."""
    sizes = (n_features, *cfg.model.hidden, n_classes)
    return MLP(Architecture(sizes, cfg.model.activation, cfg.output, cfg.model.dropout))


def check_memory(cfg: Config, n_features: int, n_classes: int, batch: int) -> None:
    """Refuse, naming the key, a network or batch that cannot fit in this machine's memory."""
    sizes = (n_features, *cfg.model.hidden, n_classes)
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    need_params = n_params * _BYTES_PER_PARAM
    need_batch = 4 * batch * sum(sizes[1:]) * (4 if cfg.model.dropout else 2)
    have = available_memory()
    if have is None or need_params + need_batch < 0.8 * have:
        return
    if need_params >= need_batch:
        raise ConfigError(f"model.hidden: {cfg.model.hidden} makes {n_params:,} parameters, about "
                          f"{_gb(need_params)} to train, more than the {_gb(have)} of memory available")
    raise ConfigError(f"train.batch_size: {batch} needs about {_gb(need_batch)} of buffers for "
                      f"this network, more than the {_gb(have)} of memory available")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def build_optimizer(cfg: Config, model: MLP) -> optimizers.Optimizer:
    o = cfg.optimizer
    return optimizers.build(o.name, model.n_params, model.n_weights, dtype=model.dtype, momentum=o.momentum,
                            nesterov=o.nesterov, beta1=o.beta1, beta2=o.beta2, eps=o.eps,
                            weight_decay=o.weight_decay)


def build_schedule(cfg: Config, epochs: int, steps_per_epoch: int) -> schedules.Schedule:
    s = cfg.schedule
    return schedules.build(s.name, cfg.optimizer.lr, epochs, steps_per_epoch, warmup=s.warmup_epochs,
                           step_size=s.step_size, gamma=s.gamma, min_lr=s.min_lr)


def build_step(cfg: Config, model: MLP, opt: optimizers.Optimizer, reduce=None) -> TrainStep:
    # The single-sample path updates the weights without a gradient buffer to reduce: one process only.
    return TrainStep(model, losses.get(cfg.loss_name, cfg.label_smoothing), opt,
                     sample_sgd=sample_sgd(cfg) and reduce is None, reduce=reduce)


def sample_sgd(cfg: Config) -> bool:
    """Whether the single-sample SGD path applies: batches of one, plain SGD, no dropout.

    Its matrix-vector products are too small to share between threads (handing one over
    costs more than it saves), so that path runs on one thread.
    """
    o = cfg.optimizer
    return (cfg.train.batch_size == 1 and o.name == "sgd" and not o.momentum and not o.weight_decay
            and not cfg.model.dropout)


def check_warmup(cfg: Config) -> None:
    """Refuse a warmup longer than the run (checked once ``train.epochs: auto`` is resolved)."""
    if cfg.schedule.warmup_epochs > cfg.train.epochs:
        raise ConfigError(f"schedule.warmup_epochs: {cfg.schedule.warmup_epochs} is longer than the "
                          f"{cfg.train.epochs} epochs this run trains (train.epochs)")


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"
