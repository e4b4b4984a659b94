"""Typed run configuration: YAML files and ``--set`` overrides, validated once at load.

Every key has a type, a default, and (where it matters) a range or a set of choices.
Errors name the file (or the ``--set`` override) and the dotted key, and suggest the
closest valid key for a typo.
"""

from __future__ import annotations

import difflib
import math
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from .data.augment import INTERPOLATIONS
from .data.csv import DECIMALS, MISSING_MODES
from .data.formats import FORMATS, NEEDS_PATH
from .errors import ConfigError
from .config_types import _allowed_text, _check_value, _printable, _schema_type, _show
from .fileio import read_yaml
from .metrics import DIRECTION
from .nn import activations, initializers, losses, optimizers, schedules

# Every choice list is read from the registry that implements the choices.
DATASETS = tuple(FORMATS)
ACTIVATIONS = tuple(activations.HIDDEN)
OUTPUTS = tuple(activations.OUTPUT)
LOSS_OUTPUTS = {name: cls.outputs for name, cls in losses.LOSSES.items()}
INITS = tuple(initializers.INITIALIZERS)
OPTIMIZERS = tuple(optimizers.OPTIMIZERS)
SCHEDULES = tuple(schedules.SCHEDULES)
AUTO_MONITOR = "auto"
SWEEP_METRICS = tuple(m for m in DIRECTION if m.startswith("val_"))
MONITORS = (AUTO_MONITOR, *SWEEP_METRICS)
TASKS = ("auto", *losses.TASKS)
TASK_INIT = {"classification": "he", "regression": "xavier", "multilabel": "he"}
"""``model.init: auto`` by task; measured by scripts/cli_regression_vs_sklearn.py (He into an identity output
costs make_friedman1 about 0.02 of R^2)."""
SWEEP_METHODS = ("grid", "random")
PRUNE_RULES = ("none", "median")
MAX_EPOCHS = 100_000

AUTO = "auto"
"""A value left to the small-data policy (``mlpnet.train.sizing``); any number given instead is kept."""
Auto = Literal["auto"]


def _opt(default=MISSING, *, help: str, choices=None, lo=None, hi=None, lo_open=False, hi_open=False,
         factory=None, path=False):
    """A dataclass field with its one-line ``help`` and validation metadata (choices, a closed or open
    range, a file path)."""
    meta = {"help": help, "choices": choices, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
            "path": path}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class AugmentConfig:
    """Random transforms of training images, each drawn per image and per epoch (mlpnet.augment)."""

    shift: int = _opt(0, lo=0, hi=8, help="training images only: shift each one by a random whole number of "
                      "pixels, up to this many along each axis; black comes in at the edges")
    rotate: float = _opt(0.0, lo=0, hi=45, help="rotate each training image by a random angle within +/- this "
                         "many degrees")
    scale: float = _opt(0.0, lo=0, hi=0.5, help="scale each training image by a random factor in [1 - s, 1 + s]")
    hflip: bool = _opt(False, help="mirror half of the training images left-right (for clothing, not digits)")
    interpolation: str = _opt("nearest", choices=INTERPOLATIONS, help="how rotated and scaled images are "
                              "sampled: nearest pixel, or bilinear (smoother, 3 to 4x the cost)")

    @property
    def active(self) -> bool:
        return bool(self.shift or self.rotate or self.scale or self.hflip)


@dataclass
class DataConfig:
    dataset: str = _opt("mnist", choices=DATASETS, help="the data format or named dataset (`arrays` marks "
                        "models trained from Python)")
    path: str | None = _opt(None, path=True, help="folder or file of the data (required for idx, npz, csv, "
                            "folder); stored as an absolute path")
    val_size: Union[int, float] = _opt(0.1, lo=0, help="validation split held out of the training set "
                                       "(stratified): a fraction in [0, 1) if written with a point, else a "
                                       "count; never more than the training split keeps")
    val_max: int = _opt(5000, lo=1, help="the most samples a fractional data.val_size holds out")
    download: bool = _opt(True, help="download named datasets that are not on the machine")
    label_column: Union[int, str, list[Union[int, str]]] = _opt("label", help="CSV: the label column, by name or "
                                                                "by index (0 first, -1 last); a list of them for "
                                                                "several targets (regression) or labels (multilabel)")
    weight_column: Union[int, str, None] = _opt(None, help="CSV: a column of sample weights (non-negative "
                                                "numbers, not a feature): the training loss weighs each row by it")
    header: bool = _opt(True, help="CSV: the first row names the columns; false numbers them 0, 1, ...")
    delimiter: str | None = _opt(None, help="CSV: the field separator, one character; null detects it "
                                 "among , ; tab |")
    ignore_columns: list[Union[int, str]] = _opt(factory=list, help="CSV: columns that are neither features "
                                                 "nor the label (an id, free text), by name or index")
    missing: str = _opt("error", choices=MISSING_MODES, help="CSV: a missing value is an error naming line "
                        "and column, drops its row, or takes the training mean")
    decimal: str = _opt("auto", choices=DECIMALS, help="CSV: the decimal mark, '.' or ','; auto detects a "
                        "decimal comma (5,1 in a file separated by ; or tab)")
    test_path: str | None = _opt(None, path=True, help="CSV: a separate test file (else data.test_size is "
                                 "held out)")
    chunk_rows: int | None = _opt(None, lo=1, help="CSV: read the file this many rows at a time, for a file too "
                                  "big for memory (two passes before training, one per epoch; held-out rows by a "
                                  "hash of the row number, not stratified); null reads it whole")
    chunk_cache: bool = _opt(True, help="CSV with data.chunk_rows: keep each chunk parsed in a temporary folder "
                             "(4 bytes a value, deleted when training ends) so epochs do not parse the CSV again; "
                             "false re-reads the file every epoch")
    test_size: float = _opt(0.2, lo=0, hi=1, lo_open=True, hi_open=True, help="CSV and folders without "
                            "test/: fraction held out as the test split")
    image_mode: str = _opt("gray", choices=("gray", "rgb"), help="folders: gray (MNIST-style preprocessing) "
                           "or rgb (resized colour images)")
    image_size: int | None = _opt(None, lo=1, hi=1024, help="folders with rgb: resize every image to this "
                                  "square size (null: all must share one size)")
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class ModelConfig:
    hidden: list[int] = _opt(factory=lambda: [256, 128], lo=1, help="hidden layer sizes; input and output "
                             "sizes come from the data")
    activation: str = _opt("relu", choices=ACTIVATIONS, help="hidden activation")
    output: str | None = _opt(None, choices=OUTPUTS, help="output activation; "
                              "null pairs it with the loss (softmax for cross_entropy, sigmoid for mse)")
    init: str = _opt("auto", choices=("auto", *INITS), help="weight initialisation (uniform is the seed "
                     "article's U(-0.5, 0.5) for weights and biases); auto: he for classes, xavier for regression "
                     "(scikit-learn's Glorot: He-scaled weights into an identity output start far off)")
    dropout: float = _opt(0.1, lo=0, hi=1, hi_open=True, help="dropout rate on hidden layers (inverted "
                          "dropout)")


@dataclass
class OptimizerConfig:
    name: str = _opt("adam", choices=OPTIMIZERS, help="the optimizer")
    lr: float = _opt(1e-3, lo=0, lo_open=True, help="peak learning rate")
    momentum: float = _opt(0.0, lo=0, hi=1, hi_open=True, help="sgd: momentum (0 = plain SGD)")
    nesterov: bool = _opt(False, help="sgd: Nesterov momentum")
    beta1: float = _opt(0.9, lo=0, hi=1, hi_open=True, help="adam, adamw: decay of the first moment")
    beta2: float = _opt(0.999, lo=0, hi=1, hi_open=True, help="adam, adamw: decay of the second moment")
    eps: float = _opt(1e-8, lo=0, lo_open=True, help="adam, adamw: added to the root of the second moment")
    weight_decay: float = _opt(0.0, lo=0, help="L2 on weights (not biases): added to the gradient for sgd and "
                               "adam, decoupled for adamw")


@dataclass
class ScheduleConfig:
    name: str = _opt("cosine", choices=SCHEDULES, help="learning-rate schedule, evaluated every step")
    warmup_epochs: float = _opt(0.0, lo=0, help="linear warmup, in (fractional) epochs, before the schedule")
    step_size: int = _opt(10, lo=1, help="step: multiply the rate by schedule.gamma every this many epochs")
    gamma: float = _opt(0.1, lo=0, lo_open=True, help="step: the factor applied every schedule.step_size "
                        "epochs")
    min_lr: float = _opt(0.0, lo=0, help="cosine: the rate at the last epoch")


@dataclass
class TrainConfig:
    epochs: Union[int, Auto] = _opt(AUTO, lo=1, hi=MAX_EPOCHS, help="epochs to train (the cosine schedule "
                                    "spans them); auto: 15, more on a small training set (train.min_steps)")
    min_steps: int = _opt(1000, lo=0, hi=10_000_000, help="with train.epochs auto, on a small training set "
                          "(under 100 batches per epoch): epochs grow so the run takes at least this many "
                          "updates, with a note; 0 = off")
    min_batches: int = _opt(16, lo=0, help="with train.batch_size auto, on a small training set: the batch "
                            "shrinks (not below 16) so an epoch has at least this many batches; 0 = off")
    batch_size: Union[int, Auto] = _opt(AUTO, lo=1, help="samples per update; 1 gives per-sample SGD; auto: "
                                        "128, smaller on a small training set (train.min_batches)")
    shuffle: bool = _opt(True, help="reshuffle the training set every epoch")
    early_stopping: int = _opt(0, lo=0, help="patience in epochs without improvement of train.monitor "
                               "(0 = off)")
    class_weight: Union[str, dict, None] = _opt(None, help="classes: balanced (weights n / (k * count of "
                                                "the class)) or a mapping {class: weight}; multiplies "
                                                "data.weight_column")
    monitor: str = _opt("auto", choices=MONITORS, help="the metric that picks best.npz and drives "
                        "early stopping; auto: val_accuracy, or val_r2 for regression")
    threads: int | None = _opt(None, lo=1, help="BLAS threads (null: one for a small network, whose "
                               "steps a second thread does not speed up, else all cores)")


@dataclass
class Config:
    """A whole run: seed, data, model, loss, optimizer, schedule and training loop."""

    name: str | None = _opt(None, help="run name, the folder runs/<name>; null: "
                            "the stem of data.path, else of the config file, else the dataset")
    seed: int = _opt(0, lo=0, help="seeds initialisation, shuffling, dropout and the data splits")
    task: str = _opt("auto", choices=TASKS, help="what the label column(s) hold; auto: a column of non-integer "
                     "numbers is regression, integers or words are classes, several 0/1 columns multilabel "
                     "(said in a note)")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: str = _opt("auto", choices=("auto", *LOSS_OUTPUTS), help="training loss; auto: the task's "
                     "(cross_entropy, squared_error for regression, binary_cross_entropy for multilabel); mse is "
                     "squared error on sigmoid outputs of classes; absolute_error and huber are for regression")
    label_smoothing: float = _opt(0.0, lo=0, hi=1, hi_open=True, help="cross_entropy only: train against "
                                  "(1 - s) one-hot + s / classes; validation and test losses stay plain")
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def output(self) -> str:
        """The output activation: as configured, else the loss's natural pairing."""
        return self.model.output or LOSS_OUTPUTS[self.loss_name][0]

    @property
    def init_name(self) -> str:
        """``model.init``: as configured, else the task's (he while the task is still ``auto``)."""
        if self.model.init != AUTO:
            return self.model.init
        return TASK_INIT["classification" if self.task == AUTO else self.task]

    @property
    def loss_name(self) -> str:
        """The loss: as configured, else the task's (a classifier's while the task is still ``auto``)."""
        if self.loss != AUTO:
            return self.loss
        return losses.DEFAULT_LOSS["classification" if self.task == AUTO else self.task]

    @property
    def monitor(self) -> str:
        """``train.monitor``: as configured, else val_r2 for regression and val_accuracy otherwise."""
        if self.train.monitor != AUTO_MONITOR:
            return self.train.monitor
        return "val_r2" if self.task == "regression" else "val_accuracy"

    def to_dict(self) -> dict:
        return asdict(self)

    def to_yaml(self) -> str:
        """The config as YAML, sections as blocks and lists inline (as the shipped files are written)."""
        return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False)


@dataclass
class SweepFileConfig:
    """The top level of a sweep file (``mlpnet sweep``); ``parameters`` maps dotted keys of
    :class:`Config` to ``{values: [...]}`` or ``{distribution, low, high}`` (checked by ``mlpnet.sweep``)."""

    name: str | None = _opt(None, help="the sweep's name, the folder sweeps/<name>; null: the file's stem")
    method: str = _opt("random", choices=SWEEP_METHODS, help="grid: every combination of the values; "
                       "random: draws")
    trials: int | None = _opt(None, lo=1, help="random: how many trials (required); grid: optional, must "
                              "equal the grid size")
    metric: str = _opt("val_accuracy", choices=SWEEP_METRICS, help="what the sweep ranks trials by (accuracy "
                       "and r2 maximised, loss minimised)")
    seed: int = _opt(0, lo=0, help="draws are a function of (seed, trial number) alone")
    prune: str = _opt("none", choices=PRUNE_RULES, help="median: stop a trial worse than the median of "
                      "finished trials after as many epochs")
    parameters: dict = _opt(factory=dict, help="dotted config keys to vary, each {values: [...]} or "
                            "{distribution: uniform|loguniform|int_uniform, low, high}")


def load_sweep_file(path: str | Path) -> SweepFileConfig:
    """Read and type-check the top level of a sweep file; errors name the file and the key."""
    path = Path(path)
    src = str(path)
    sweep = _build(SweepFileConfig, read_yaml(path, src), src, prefix="")
    if sweep.name is None:
        sweep.name = path.stem
    if not sweep.name or "/" in sweep.name or "\\" in sweep.name or sweep.name in (".", ".."):
        raise ConfigError(f"{src}: name: {sweep.name!r} must be a plain name (it names the folder sweeps/<name>)")
    return sweep


def check_key(key: str, source: str) -> None:
    """Refuse a dotted ``key`` that names no config value (with a "did you mean"), or names a section."""
    _set_dotted(Config().to_dict(), key.split("."), None, Config, source)


def did_you_mean(key: str, names, section: str = "") -> str:
    """`` (did you mean 'x'?)`` for the closest of ``names``, else the list of valid names in ``section``."""
    return _did_you_mean(key, dict.fromkeys(names), section)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


# -- the schema, for documentation ----------------------------------------------------------

def schema_rows() -> list[dict]:
    """Every dotted key of a config, in declaration order, as the docs and ``--help`` tables show it.

    Returns
    -------
    list of dict
        ``{"key", "type", "default", "allowed", "help"}``: ``type`` is readable text
        (``"integer"``, ``"list of integers"``, ``"number or null"``), ``default`` the default
        value as Python holds it (a list for lists, None for null; ``help`` says what null
        means), ``allowed`` the choices or the range as text ("" when any
        value of the type is valid), ``help`` one line.
    """
    return list(_rows(Config, ""))


def _rows(cls: type, prefix: str):
    hints = _hints(cls)
    for f in fields(cls):
        hint = hints[f.name]
        if is_dataclass(hint):
            yield from _rows(hint, prefix + f.name + ".")
            continue
        meta = f.metadata
        default = f.default_factory() if f.default is MISSING else f.default
        yield {"key": prefix + f.name, "type": _schema_type(hint), "default": default,
               "allowed": _allowed_text(meta), "help": meta.get("help", "")}


# -- loading -----------------------------------------------------------------------------

def load(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Read a YAML config (none: every key at its default), apply ``KEY=VALUE`` overrides, and
    validate everything. A key the file leaves out takes the same default as no file at all.

    Raises
    ------
    ConfigError
        Naming the file or the override, and the key at fault.
    """
    raw = read_yaml(Path(path)) if path is not None else {}
    source = str(path) if path is not None else "the defaults"
    user = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    cfg = apply_overrides(from_dict(raw, source), _dataset_from_path(user, overrides))
    if cfg.name is None:
        cfg.name = default_name(cfg, path)
    return cfg


def stored_config(raw: dict, path, overrides=(), *, allowed: str | tuple[str, ...] | None = None,
                  what: str = "this command") -> Config:
    """The config stored in a checkpoint, with ``KEY=VALUE`` overrides validated like ``--set``.

    ``allowed`` is a key prefix (``"data."``) or a tuple of dotted keys that may change.
    """
    if isinstance(allowed, str):
        bad = [o for o in overrides if not o.strip().startswith(allowed)]
        if bad:
            raise ConfigError(f"--set {_printable(bad[0])}: {what} can only change {allowed}* keys")
        allowed = None
    overrides = _dataset_from_path({}, list(overrides)) if allowed is None else list(overrides)
    return apply_overrides(from_dict(_upgrade(raw), f"{path} (stored config)"), overrides, allowed=allowed)


def _dataset_from_path(user: dict, overrides: list[str]) -> list[str]:
    """``overrides`` plus ``data.dataset=auto`` when the user names ``data.path`` but no ``data.dataset``.

    ``user`` is the ``data`` section the user wrote (empty for the built-in default or a
    stored config). The format is then inferred from the path when the data is loaded
    (``mlpnet.data`` ``infer_format``), and a note says what was inferred."""
    keys = {o.partition("=")[0].strip() for o in overrides}
    if ("data.path" in keys or "path" in user) and "data.dataset" not in keys and "dataset" not in user:
        return [*overrides, "data.dataset=auto"]
    return list(overrides)


def _upgrade(raw: dict) -> dict:
    """A stored config from an older mlpnet, with what its run did made explicit.

    Rotation and scaling were always bilinear before ``data.augment.interpolation``
    existed, so such a run resumes bilinear rather than with the new default.
    """
    aug = (raw.get("data") or {}).get("augment") if isinstance(raw.get("data"), dict) else None
    if isinstance(aug, dict) and "interpolation" not in aug and (aug.get("rotate") or aug.get("scale")):
        raw = {**raw, "data": {**raw["data"], "augment": {**aug, "interpolation": "bilinear"}}}
    return raw


def default_name(cfg: Config, path: str | Path | None = None) -> str:
    """A run name from the data: the stem of ``data.path``, else of the config file, else the dataset."""
    for candidate in (cfg.data.path, path):
        if candidate:
            stem = Path(candidate).expanduser().resolve().stem
            if stem and stem not in (".", ".."):
                return stem
    return cfg.data.dataset


def apply_overrides(cfg: Config, overrides: list[str], allowed: tuple[str, ...] | None = None) -> Config:
    """Apply ``a.b=value`` overrides (values parsed as YAML) and validate the result.

    ``allowed``, when given, lists the only dotted keys that may change (for resume).
    """
    raw = cfg.to_dict()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        source = f"--set {_printable(item)}"
        if not sep or not key:
            raise ConfigError(f"{source}: expected KEY=VALUE, e.g. --set train.epochs=5")
        if allowed is not None and key not in allowed:
            raise ConfigError(f"{source}: {key} cannot change when resuming a run; "
                              f"only {', '.join(allowed)} can")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text
        _set_dotted(raw, key.split("."), value, Config, source)
        _build(Config, raw, source, prefix="")  # type and range errors name this override
    if overrides:
        # Constraints across keys are checked once all overrides are in.
        cfg = from_dict(raw, "--set " + " ".join(map(_printable, overrides)))
    return cfg


def _set_dotted(raw: dict, parts: list[str], value: Any, cls: type, source: str) -> None:
    node, node_cls = raw, cls
    for i, part in enumerate(parts):
        names = {f.name: f for f in fields(node_cls)}
        dotted = ".".join(parts[:i + 1])
        if part not in names:
            raise ConfigError(f"{source}: unknown key {dotted!r}{_did_you_mean(part, names, '.'.join(parts[:i]))}")
        hint = _hints(node_cls)[part]
        if i == len(parts) - 1:
            if is_dataclass(hint) and not isinstance(value, dict):
                raise ConfigError(f"{source}: {dotted} is a section; set its keys, e.g. {dotted}.{fields(hint)[0].name}=...")
            node[part] = value
            return
        if not is_dataclass(hint):
            raise ConfigError(f"{source}: {'.'.join(parts[:i + 1])} is not a section; cannot set {'.'.join(parts)}")
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
        node_cls = hint


def from_dict(raw: dict, source: str) -> Config:
    """Build and validate a Config from a plain mapping (as read from YAML)."""
    cfg = _build(Config, raw, source, prefix="")
    _check_cross(cfg, source)
    return cfg


def _build(cls: type, raw: Any, source: str, prefix: str):
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'} must be a mapping, got {_show(raw)}")
    hints = _hints(cls)
    names = {f.name: f for f in fields(cls)}
    for key in raw:
        if key not in names:
            raise ConfigError(f"{source}: unknown key {prefix + str(key)!r}{_did_you_mean(str(key), names, prefix.rstrip('.'))}")
    kwargs = {}
    for name, f in names.items():
        key = prefix + name
        if name not in raw:
            continue
        hint = hints[name]
        if is_dataclass(hint):
            kwargs[name] = _build(hint, raw[name] if raw[name] is not None else {}, source, key + ".")
        else:
            kwargs[name] = _check_value(raw[name], hint, f.metadata, key, source)
    return cls(**kwargs)


def _check_cross(cfg: Config, source: str) -> None:
    """Constraints that involve more than one key, or more than a type and a range."""
    if cfg.name is not None and (not cfg.name or "/" in cfg.name or "\\" in cfg.name or cfg.name in (".", "..")):
        raise ConfigError(f"{source}: name: {cfg.name!r} must be a plain run name (it names the folder runs/<name>)")
    out = cfg.model.output
    if out is not None and out not in LOSS_OUTPUTS[cfg.loss_name]:
        raise ConfigError(f"{source}: model.output: {out!r} cannot be used with loss {cfg.loss_name!r}; "
                          f"use {' or '.join(LOSS_OUTPUTS[cfg.loss_name])}")
    if cfg.loss != AUTO and cfg.task != AUTO and losses.LOSSES[cfg.loss].task != cfg.task:
        valid = [k for k, c in losses.LOSSES.items() if c.task == cfg.task]
        raise ConfigError(f"{source}: loss: {cfg.loss!r} is a {losses.LOSSES[cfg.loss].task} loss, and task is "
                          f"{cfg.task}; use {' or '.join(valid)} (or auto)")
    if cfg.task == "classification" and isinstance(cfg.data.label_column, list) and len(cfg.data.label_column) > 1:
        raise ConfigError(f"{source}: data.label_column: several columns need task: regression or multilabel")
    cw = cfg.train.class_weight
    if isinstance(cw, str) and cw != "balanced":
        raise ConfigError(f"{source}: train.class_weight: {cw!r} is not balanced (or a mapping {{class: weight}})")
    if isinstance(cw, dict):
        bad = [(k, v) for k, v in cw.items() if isinstance(v, bool) or not isinstance(v, (int, float))
               or not math.isfinite(v) or v < 0]
        if bad:
            raise ConfigError(f"{source}: train.class_weight: the weight of {bad[0][0]!r} ({bad[0][1]!r}) must be a "
                              "non-negative number")
    if cfg.label_smoothing and cfg.loss_name != "cross_entropy":
        raise ConfigError(f"{source}: label_smoothing: applies to loss cross_entropy, not {cfg.loss!r}")
    vs = cfg.data.val_size
    if isinstance(vs, float) and not 0 <= vs < 1:
        raise ConfigError(f"{source}: data.val_size: {vs!r} must be a count (an integer such as {int(vs)}) or a "
                          "fraction in [0, 1)")
    if cfg.data.dataset in NEEDS_PATH and not cfg.data.path:
        raise ConfigError(f"{source}: data.path: dataset {cfg.data.dataset!r} needs data.path")
    if cfg.data.delimiter is not None and len(cfg.data.delimiter) != 1:
        raise ConfigError(f"{source}: data.delimiter: {cfg.data.delimiter!r} must be one character "
                          "(e.g. ';' or \"\\t\" for tab), or null to detect it")
    if cfg.train.epochs != AUTO and cfg.schedule.warmup_epochs > cfg.train.epochs:
        raise ConfigError(f"{source}: schedule.warmup_epochs: {cfg.schedule.warmup_epochs} is longer than "
                          f"train.epochs ({cfg.train.epochs})")


def _hints(cls: type) -> dict:
    return typing.get_type_hints(cls)


def _did_you_mean(key: str, names: dict, section: str) -> str:
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    where = f"in {section}" if section else "at the top level"
    return f"; valid keys {where}: {', '.join(names)}"
