"""A sweep file: which config keys to vary, how to draw them, and what to maximise.

::

    method: random          # grid or random
    trials: 16              # random: how many; grid: optional, must equal the grid size
    metric: val_accuracy    # val_accuracy (maximised) or val_loss (minimised)
    seed: 0                 # draws are a function of (seed, trial number) alone
    prune: median           # optional: stop trials worse than the median (default none)
    parameters:
      optimizer.lr: {distribution: loguniform, low: 1.0e-4, high: 1.0e-2}
      model.hidden: {values: [[128], [256, 128]]}
      model.dropout: {distribution: uniform, low: 0.0, high: 0.3}

Every parameter is a dotted config key, checked like ``--set`` (unknown keys get a
"did you mean"), and every drawn value goes through ``config.apply_overrides``, so a
trial's config is exactly what ``mlpnet train --set KEY=VALUE`` would build. Errors name
the sweep file and the key, on one line.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config, apply_overrides, check_key, did_you_mean, load_sweep_file
from ..errors import ConfigError
from ..metrics import higher_is_better

DISTRIBUTIONS = ("uniform", "loguniform", "int_uniform")
PARAM_KEYS = ("values", "distribution", "low", "high")


@dataclass(frozen=True)
class Parameter:
    """One swept key: either a list of ``values`` or a ``distribution`` over [low, high]."""

    key: str
    values: tuple | None = None
    distribution: str | None = None
    low: float | None = None
    high: float | None = None

    def draw(self, rng: np.random.Generator) -> Any:
        """One value: a uniform pick from ``values``, else a draw from the distribution."""
        if self.values is not None:
            return self.values[int(rng.integers(len(self.values)))]
        u = float(rng.random())
        if self.distribution == "uniform":
            return self.low + u * (self.high - self.low)
        if self.distribution == "loguniform":
            lo, hi = math.log(self.low), math.log(self.high)
            return math.exp(lo + u * (hi - lo))
        # int_uniform: every integer in [low, high] equally likely
        return int(self.low) + min(int(u * (int(self.high) - int(self.low) + 1)), int(self.high) - int(self.low))

    @property
    def log_scale(self) -> bool:
        return self.distribution == "loguniform"

    def to_dict(self) -> dict:
        if self.values is not None:
            return {"values": list(self.values)}
        return {"distribution": self.distribution, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file."""

    name: str
    method: str
    trials: int
    metric: str
    seed: int
    parameters: tuple[Parameter, ...]
    prune: str = "none"
    """``median``: stop a trial whose best metric after an epoch is worse than the median of
    finished trials' best after the same epoch (needs 3 finished trials)."""
    source: str = field(default="", compare=False)

    @property
    def maximize(self) -> bool:
        return higher_is_better(self.metric)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    def to_dict(self) -> dict:
        return {"name": self.name, "method": self.method, "trials": self.trials, "metric": self.metric,
                "seed": self.seed, "prune": self.prune, "parameters": {p.key: p.to_dict() for p in self.parameters}}

    def trial_params(self) -> list[dict[str, Any]]:
        """The parameters of every trial, in trial order.

        Grid: the Cartesian product of the value lists, the first key varying slowest.
        Random: trial ``i`` draws from its own stream ``SeedSequence([seed, i])``, so a
        rerun (or a sweep with more trials) regenerates the same trials.
        """
        if self.method == "grid":
            combos = itertools.product(*(p.values for p in self.parameters))
            return [dict(zip(self.keys, combo)) for combo in combos]
        out = []
        for i in range(self.trials):
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, i]))
            out.append({p.key: p.draw(rng) for p in self.parameters})
        return out

    def fingerprint(self, base: Config) -> str:
        """A short hash of the spec and the base config: the identity of a sweep folder."""
        text = json.dumps({"spec": self.to_dict(), "base": base.to_dict()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def override(key: str, value: Any) -> str:
    """``KEY=VALUE`` text for ``config.apply_overrides`` (JSON is a subset of YAML)."""
    return f"{key}={json.dumps(value)}"


def trial_config(base: Config, params: dict[str, Any]) -> Config:
    """The base config with one trial's parameters applied, validated as ``--set`` would be."""
    return apply_overrides(base, [override(k, v) for k, v in params.items()])


def load(path: str | Path, base: Config) -> SweepSpec:
    """Read and validate a sweep file against ``base`` (the config every trial starts from).

    Raises
    ------
    ConfigError
        One line naming the sweep file and the key at fault.
    """
    path = Path(path)
    src = str(path)
    top = load_sweep_file(path)  # the top-level keys: typed and checked by the config code
    method, metric, seed, prune, name = top.method, top.metric, top.seed, top.prune, top.name
    params_raw = top.parameters
    if not params_raw:
        raise ConfigError(f"{src}: parameters: expected a mapping of dotted config keys to "
                          "{values: [...]} or {distribution: ..., low: ..., high: ...}")
    params = tuple(_parameter(str(k), v, method, base, src) for k, v in params_raw.items())
    if method == "grid":
        size = math.prod(len(p.values) for p in params)
        trials = size if top.trials is None else top.trials
        if trials != size:
            raise ConfigError(f"{src}: trials: a grid over these values has {size} trials, not {trials} "
                              "(leave trials out for a grid)")
    else:
        if top.trials is None:
            raise ConfigError(f"{src}: trials: a random sweep needs a number of trials, e.g. trials: 16")
        trials = top.trials
    if base.data.val_size == 0 and "data.val_size" not in (p.key for p in params):
        raise ConfigError(f"{src}: metric: {metric} needs a validation split, but data.val_size is 0 "
                          "in the base config")
    spec = SweepSpec(name, method, trials, metric, seed, params, prune=prune, source=src)
    for i, p in enumerate(spec.trial_params()):
        try:
            trial_config(base, p)
        except ConfigError as err:
            given = ", ".join(f"{k}={json.dumps(v)}" for k, v in p.items())
            raise ConfigError(f"{src}: parameters: trial {i + 1} ({_show(given)}) is not a valid config: "
                              f"{str(err).split(': ', 1)[-1]}") from None
    return spec


def _parameter(key: str, raw: Any, method: str, base: Config, src: str) -> Parameter:
    where = f"{src}: parameters.{key}"
    check_key(key, f"{src}: parameters")  # a config value, with the --set "did you mean"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected {{values: [...]}} or {{distribution: ..., low: ..., high: ...}}, "
                          f"got {_show(raw)}")
    for k in raw:
        if k not in PARAM_KEYS:
            raise ConfigError(f"{where}: unknown key {str(k)!r}{did_you_mean(str(k), PARAM_KEYS, key)}")
    if "values" in raw:
        extra = [k for k in ("distribution", "low", "high") if k in raw]
        if extra:
            raise ConfigError(f"{where}: give either values or a distribution, not both (drop {', '.join(extra)})")
        values = raw["values"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}.values: expected a non-empty list, got {_show(values)}")
        for v in values:
            _check(base, key, v, f"{where}.values")
        return Parameter(key, values=tuple(values))
    if method == "grid":
        raise ConfigError(f"{where}: a grid sweep needs a list of values for every parameter")
    dist = raw.get("distribution")
    if dist not in DISTRIBUTIONS:
        raise ConfigError(f"{where}.distribution: {dist!r} is not one of {', '.join(DISTRIBUTIONS)}"
                          + ("" if dist is not None else " (or give values: [...])"))
    bounds = {}
    for k in ("low", "high"):
        v = raw.get(k)
        if isinstance(v, str):
            try:
                v = float(v)  # YAML 1.1 reads 1e-4 (no dot) as a string
            except ValueError:
                pass
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"{where}.{k}: expected a number, got {_show(v)}")
        if dist == "int_uniform" and not float(v).is_integer():
            raise ConfigError(f"{where}.{k}: int_uniform needs integer bounds, got {v!r}")
        bounds[k] = int(v) if dist == "int_uniform" else float(v)
    if not bounds["low"] < bounds["high"]:
        raise ConfigError(f"{where}: low ({bounds['low']}) must be below high ({bounds['high']})")
    if dist == "loguniform" and bounds["low"] <= 0:
        raise ConfigError(f"{where}.low: loguniform needs low > 0, got {bounds['low']}")
    for k in ("low", "high"):
        _check(base, key, bounds[k], f"{where}.{k}")
    return Parameter(key, distribution=dist, low=bounds["low"], high=bounds["high"])


def _check(base: Config, key: str, value: Any, where: str) -> None:
    """``value`` for ``key`` passes the same checks as ``--set key=value``."""
    try:
        trial_config(base, {key: value})
    except ConfigError as err:
        raise ConfigError(f"{where}: {str(err).split(': ', 1)[-1]}") from None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
