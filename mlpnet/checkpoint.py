"""Versioned ``.npz`` checkpoints: named arrays plus one JSON metadata entry.

Layout (format version 1)::

    weights.0 ... weights.{L-1}   (n_in, n_out)   the network
    biases.0  ... biases.{L-1}    (n_out,)
    optim.<name>                  (n_params,)     optimizer state (last.npz; best.npz too)
    input.<name>                  feature statistics for tabular data (mean, std)
    __meta__                      0-d unicode array holding a JSON object

The metadata holds the format version, architecture, class names, input format, the
full resolved config, epoch/step, metrics and history, the RNG and optimizer counters.
Files are written atomically and read with ``allow_pickle=False``: a checkpoint can
never run code, and a model is rebuilt from the file alone.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import CheckpointError
from .fileio import atomic_write, sniff
from .nn import MLP, Architecture

FORMAT = "mlpnet-checkpoint"
FORMAT_VERSION = 1
META_KEY = "__meta__"


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt model, its metadata and any extra arrays."""

    model: MLP
    meta: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    @property
    def classes(self) -> list[str]:
        return self.meta["classes"]

    def group(self, prefix: str) -> dict[str, np.ndarray]:
        """Extra arrays stored under ``prefix.`` (e.g. ``optim``, ``input``), keyed by the rest."""
        p = prefix + "."
        return {k[len(p):]: v for k, v in self.arrays.items() if k.startswith(p)}


def save(path: str | Path, model: MLP, meta: dict, extra: dict[str, np.ndarray] | None = None) -> None:
    """Write ``model`` and ``meta`` (JSON-able) to ``path`` atomically.

    ``extra`` maps dotted names to arrays stored beside the parameters.
    """
    arrays: dict[str, np.ndarray] = {}
    for i, (w, b) in enumerate(zip(model.weights, model.biases)):
        arrays[f"weights.{i}"] = w
        arrays[f"biases.{i}"] = b
    arrays.update(extra or {})
    full = {"format": FORMAT, "format_version": FORMAT_VERSION,
            "architecture": model.arch.to_dict(), **meta}
    arrays[META_KEY] = np.array(json.dumps(full, allow_nan=True))
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
        meta = json.loads(str(arrays.pop(META_KEY)))
    except (json.JSONDecodeError, TypeError) as err:
        raise CheckpointError(f"{path}: metadata is not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an mlpnet checkpoint (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is not supported "
                              f"(this mlpnet reads version {FORMAT_VERSION})")
    try:
        arch = Architecture.from_dict(meta["architecture"])
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
