"""Versioned ``.npz`` checkpoints: named arrays plus one JSON metadata entry.

Layout (format version 2; version 1 differs only in writing ``input.kind`` ``tabular``)::

    weights.0 ... weights.{L-1}   (n_in, n_out)   the network
    biases.0  ... biases.{L-1}    (n_out,)
    optim.<name>                  (n_params,)     optimizer state (last.npz; best.npz too)
    input.<name>                  feature statistics for tabular data (mean, std)
    target.mean, target.std       (k,) regression only: targets are standardized for training
    __meta__                      0-d unicode array holding a JSON object

The metadata (:class:`Meta`, one writer :func:`save`, one reader :func:`load`) holds the
format version, architecture, the task (``classification``, ``regression``, ``multilabel``;
a file without one is a classifier), class names or target names, the input spec (:class:`~mlpnet.data.spec.InputSpec`),
the full resolved config, epoch/step, metrics and history, the RNG and optimizer counters.
Files are written atomically and read with ``allow_pickle=False``: a checkpoint can
never run code, and a model is rebuilt from the file alone.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from .data.dataset import MNIST_INPUT
from .data.spec import InputSpec
from .errors import CheckpointError, DataError, MlpnetError
from .fileio import atomic_write, sniff
from .nn import MLP, Architecture
from .nn.losses import TASKS

FORMAT = "mlpnet-checkpoint"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Version 1 (mlpnet before issue 19) wrote ``input.kind`` ``tabular``; version 2 writes ``table``."""
META_KEY = "__meta__"


@dataclass
class Meta:
    """Everything a checkpoint records besides its arrays; written by :func:`save`, read by :func:`load`.

    The architecture and the format version are not fields: :func:`save` takes them from
    the model and this module.
    """

    classes: list[str]
    input: InputSpec
    task: str = "classification"
    """``classification`` (one class per row), ``regression`` (values) or ``multilabel`` (a set of classes)."""
    targets: list[str] | None = None
    """Regression: the name of each target (the label columns), in output order."""
    target_stats: dict = field(default_factory=dict)
    """Regression: ``mean`` and ``std`` ``(k,)`` the targets were standardized with (arrays ``target.*``)."""
    config: dict = field(default_factory=dict)
    """The full resolved run config (``Config.to_dict()``); empty for hand-made checkpoints."""
    labels: list | None = None
    """The labels as JSON values of their own type (ints stay ints), when they are not the class names."""
    dataset: str = ""
    mlpnet_version: str = ""
    created: str | None = None
    trained_from: str = ""
    """``arrays`` for ``MLPClassifier``; empty for runs of ``mlpnet train``."""
    n_train: int = 0
    n_val: int = 0
    epoch: int = 0
    """The epoch whose parameters these are."""
    run_epochs: int | None = None
    """Epochs the run trained in all (best.npz may hold an earlier one); None: ``epoch``."""
    status: str = ""
    metrics: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=dict)
    """``epoch``, ``monitor``, ``value``, ``tiebreak`` of the best epoch so far."""
    test: dict | None = None
    # The training state, in last.npz only (optimizer arrays are ``optim.*``):
    step: int = 0
    wait: int = 0
    optimizer: dict | None = None
    rng: dict | None = None
    format_version: int = FORMAT_VERSION
    """The version the file was written in (a loaded version 1 file says 1)."""
    extra: dict = field(default_factory=dict)
    """Keys this version of mlpnet does not know, kept when the metadata is written back."""

    @property
    def epochs_run(self) -> int:
        return self.epoch if self.run_epochs is None else self.run_epochs

    @property
    def resumable(self) -> bool:
        return isinstance(self.optimizer, dict) and self.rng is not None

    def to_json(self, model: MLP) -> dict:
        """The JSON object stored as ``__meta__`` (the writer's half of the format)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in ("input", "extra", "format_version", "target_stats")}
        d = {k: v for k, v in d.items() if v is not None}
        return {**self.extra, "format": FORMAT, "format_version": FORMAT_VERSION,
                "architecture": model.arch.to_dict(), "input": self.input.to_dict(), **d}

    @classmethod
    def from_json(cls, d: dict, arrays: dict[str, np.ndarray]) -> Meta:
        """The reader's half: any readable version, with its defaults filled here and only here."""
        d = dict(d)
        version = d.pop("format_version")
        d.pop("format", None)
        d.pop("architecture", None)
        stats = {k: arrays[f"input.{k}"] for k in ("mean", "std") if f"input.{k}" in arrays}
        spec = InputSpec.from_dict(d.pop("input", MNIST_INPUT), stats)
        known = {f.name for f in fields(cls)} - {"input", "extra", "format_version", "target_stats"}
        targets = {k: arrays[f"target.{k}"].astype(np.float64) for k in ("mean", "std") if f"target.{k}" in arrays}
        meta = cls(input=spec, format_version=version, classes=[str(c) for c in d.pop("classes", [])],
                   target_stats=targets, **{k: d.pop(k) for k in list(d) if k in known})
        if meta.task not in TASKS:
            raise CheckpointError(f"task {meta.task!r} is not one of {', '.join(TASKS)}")
        meta.extra = d
        return meta


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model, its metadata and any extra arrays."""

    model: MLP
    meta: Meta
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None
    _inference: MLP | None = field(default=None, repr=False)

    @property
    def classes(self) -> list[str]:
        return self.meta.classes

    @property
    def input(self) -> InputSpec:
        return self.meta.input

    def group(self, prefix: str) -> dict[str, np.ndarray]:
        """Extra arrays stored under ``prefix.`` (``optim``; ``input`` ones other than the statistics
        come from a newer mlpnet), keyed by the rest."""
        p = prefix + "."
        return {k[len(p):]: v for k, v in self.arrays.items() if k.startswith(p)}

    @property
    def task(self) -> str:
        """``classification``, ``regression`` or ``multilabel``."""
        return self.meta.task

    @property
    def target_names(self) -> list[str]:
        """What each output is: the target names of a regressor, else the class names."""
        if self.task == "regression":
            k = self.model.arch.sizes[-1]
            return list(self.meta.targets or []) or [f"y{i}" for i in range(k)]
        return list(self.classes)

    @property
    def target_stats(self) -> dict[str, np.ndarray]:
        """Regression: ``mean`` and ``std`` ``(k,)`` the targets were standardized with (empty otherwise)."""
        return self.meta.target_stats

    @property
    def labels(self) -> np.ndarray:
        """The class labels as the training data had them (ints stay ints), in output order."""
        return np.asarray(self.meta.labels if self.meta.labels is not None else self.classes)

    def outputs(self, raw) -> np.ndarray:
        """Network outputs ``(n, k)`` for raw inputs (see :meth:`InputSpec.to_network`): class
        probabilities, independent label probabilities (multilabel), or standardized values.

        The network runs in float64, so a row's answer does not depend on the rest of the
        batch (float32 BLAS kernels differ with the batch size).
        """
        return self.inference.predict_proba(self.input.to_network(raw))

    def predict_proba(self, raw) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` for raw inputs; a regressor has none (a DataError)."""
        if self.task == "regression":
            raise DataError(f"{self.path or 'this model'}: a regression model predicts values, not probabilities")
        return self.outputs(raw)

    def predict(self, raw):
        """Answers in the user's units for raw inputs: see :meth:`to_user`."""
        return self.to_user(self.outputs(raw))

    def to_user(self, out: np.ndarray):
        """Network outputs ``(n, k)`` as the user's answers: THE output transform.

        Returns
        -------
        classification : ndarray (n,)
            The most probable label of each row, of the labels' own type.
        multilabel : list of n lists of str
            The classes whose probability exceeds 0.5, in class order.
        regression : ndarray of float64, shape (n, k)
            Values in the targets' own units (the standardization undone); columns
            :attr:`target_names`.
        """
        out = np.asarray(out)
        if self.task == "regression":
            st = self.target_stats
            values = out.astype(np.float64)
            return values * st["std"] + st["mean"] if st else values
        if self.task == "multilabel":
            names = self.classes
            return [[names[j] for j in np.flatnonzero(row > 0.5)] for row in out]
        return self.labels[np.argmax(out, axis=1)]

    def answers(self, out: np.ndarray) -> list[dict]:
        """A regressor's or multilabel model's answers for network outputs ``(n, k)``, as every entry
        point (``mlpnet predict --json``, ``POST /predict``) reports them, one dict per row:
        ``{"values": {target: value}}`` in the targets' units, or ``{"labels": [...],
        "probabilities": {label: p}}``. A classifier's answers (top k, every probability) are
        shaped by each entry point from :meth:`outputs` instead.
        """
        if self.task == "classification":
            raise ValueError("answers() is for regression and multilabel models")
        out = np.asarray(out)
        user, names = self.to_user(out), self.target_names
        if self.task == "regression":
            return [{"values": {t: float(v) for t, v in zip(names, row)}} for row in user]
        return [{"labels": [str(c) for c in labels], "probabilities": {t: float(p) for t, p in zip(names, row)}}
                for labels, row in zip(user, out)]

    def hidden(self, raw) -> list[np.ndarray]:
        """Each hidden layer's activations ``(n, h_i)`` for raw inputs, in float64."""
        return self.inference.hidden(self.input.to_network(raw))

    @property
    def inference(self) -> MLP:
        """A float64 copy of the network, without dropout (made once)."""
        if self._inference is None:
            a = self.model.arch
            self._inference = MLP(Architecture(a.sizes, a.activation, a.output, 0.0, dtype="float64"))
            self._inference.params[...] = self.model.params
        return self._inference


def save(path: str | Path, model: MLP, meta: Meta, extra: dict[str, np.ndarray] | None = None) -> None:
    """Write ``model`` and ``meta`` to ``path`` atomically (the input statistics included).

    ``extra`` maps dotted names to arrays stored beside the parameters (``optim.*``).
    """
    arrays: dict[str, np.ndarray] = {}
    for i, (w, b) in enumerate(zip(model.weights, model.biases)):
        arrays[f"weights.{i}"] = w
        arrays[f"biases.{i}"] = b
    arrays.update({f"input.{k}": np.asarray(v, np.float32) for k, v in meta.input.stats.items()})
    arrays.update({f"target.{k}": np.asarray(v, np.float64) for k, v in meta.target_stats.items()})
    arrays.update(extra or {})
    arrays[META_KEY] = np.array(json.dumps(meta.to_json(model), allow_nan=True))
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def load(path: str | Path) -> Checkpoint:
    """Read a checkpoint and rebuild its model, checking everything against the metadata.

    Raises
    ------
    CheckpointError
        For a missing, truncated or non-npz file, pickled/object arrays, an unknown format
        version, missing arrays, or shapes that do not match the recorded architecture.
    """
    path = Path(path)
    arrays = _read_arrays(path)
    if META_KEY not in arrays:
        raise CheckpointError(f"{path}: not an mlpnet checkpoint (no {META_KEY} entry)")
    try:
        raw = json.loads(str(arrays.pop(META_KEY)))
    except (json.JSONDecodeError, TypeError) as err:
        raise CheckpointError(f"{path}: metadata is not valid JSON ({err})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an mlpnet checkpoint (format {raw.get('format') if isinstance(raw, dict) else None!r})")
    version = raw.get("format_version")
    if version not in READABLE_VERSIONS:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is not supported "
                              f"(this mlpnet reads versions {', '.join(map(str, READABLE_VERSIONS))})")
    try:
        arch = Architecture.from_dict(raw["architecture"])
        model = MLP(arch)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: invalid architecture in metadata ({err})") from None
    except Exception as err:  # e.g. an unknown activation name
        raise CheckpointError(f"{path}: invalid architecture in metadata ({err})") from None
    for i, (w, b) in enumerate(zip(model.weights, model.biases)):
        for name, dest in ((f"weights.{i}", w), (f"biases.{i}", b)):
            if name not in arrays:
                raise CheckpointError(f"{path}: array {name!r} is missing")
            src = arrays.pop(name)
            if src.shape != dest.shape:
                raise CheckpointError(f"{path}: array {name!r} has shape {src.shape}, but the recorded "
                                      f"architecture {'-'.join(map(str, arch.sizes))} needs {dest.shape}")
            if not np.issubdtype(src.dtype, np.floating):
                raise CheckpointError(f"{path}: array {name!r} has dtype {src.dtype}, expected a float array")
            dest[...] = src
    stray = [k for k in arrays if k.startswith(("weights.", "biases."))]
    if stray:
        raise CheckpointError(f"{path}: array(s) {', '.join(sorted(stray))} do not fit the recorded architecture "
                              f"{'-'.join(map(str, arch.sizes))}")
    try:
        meta = Meta.from_json(raw, arrays)
    except (TypeError, ValueError, MlpnetError) as err:
        raise CheckpointError(f"{path}: invalid metadata ({err})") from None
    for name in ("target.mean", "target.std"):
        if name in arrays and arrays[name].shape != (arch.sizes[-1],):
            raise CheckpointError(f"{path}: array {name!r} has shape {arrays[name].shape}, but the network has "
                                  f"{arch.sizes[-1]} outputs")
    arrays = {k: v for k, v in arrays.items() if k not in ("input.mean", "input.std", "target.mean", "target.std")}
    return Checkpoint(model=model, meta=meta, arrays=arrays, path=path)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    kind = sniff(path)
    if kind == "pickle":
        raise CheckpointError(f"{path}: contains pickled data; refusing to load it (mlpnet checkpoints never need pickle)")
    if kind != "npz":
        raise CheckpointError(f"{path}: not an .npz checkpoint" + (" (a single .npy array)" if kind == "npy" else ""))
    try:
        with np.load(path, allow_pickle=False) as f:
            return {key: f[key] for key in f.files}
    except CheckpointError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower() or "object" in str(err).lower():
            raise CheckpointError(f"{path}: contains pickled data or object arrays; refusing to load it "
                                  "(mlpnet checkpoints never need pickle)") from None
        raise CheckpointError(f"{path}: not a valid checkpoint ({err})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as err:
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({type(err).__name__}: {err})") from None
