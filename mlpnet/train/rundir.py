"""The run directory: what a run writes, when, and how an existing model is never lost.

Files, each replaced atomically at the end of every epoch: ``config.yaml`` (resolved
config), ``metrics.csv`` (one row per epoch), ``last.npz`` (everything needed to resume)
and ``best.npz`` (the best epoch by ``train.monitor``). Nothing is written before the
first epoch finishes, so a run that fails early leaves an existing directory untouched.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import checkpoint
from ..checkpoint import Meta
from ..errors import CheckpointError, MlpnetError, TrainingError
from ..fileio import atomic_write, write_text
from ..nn import MLP
from .report import metrics_csv

MODEL_FILES = ("last.npz", "best.npz")
RUN_FILES = (*MODEL_FILES, "config.yaml", "metrics.csv", "curves.png")
DEFAULT_RUNS = Path("runs")


class RunDir:
    """A run directory ``path`` and the operations a training run performs on it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.last = self.path / "last.npz"
        self.best = self.path / "best.npz"

    def check(self, resume: str | Path | None, overwrite: bool) -> None:
        """Refuse a directory that already holds a model, unless resumed in place or overwritten."""
        held = [f for f in MODEL_FILES if (self.path / f).exists()]
        if not held or overwrite:
            return
        if resume is not None and Path(resume).resolve().parent == self.path.resolve():
            return
        raise TrainingError(f"{self.path}: already holds a model ({', '.join(held)}); continue it with "
                            f"--resume {self.last}, replace it with --overwrite, or choose another -o/--output")

    def holds_model(self) -> bool:
        return any((self.path / f).exists() for f in MODEL_FILES)

    def displace(self) -> Path:
        """Move the model an --overwrite run replaces into ``previous/``; an older ``previous/``
        becomes ``previous-<its time>/``, so no generation is ever deleted."""
        prev = self.path / "previous"
        if prev.exists():
            stamp = datetime.fromtimestamp(prev.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
            older, k = self.path / f"previous-{stamp}", 1
            while older.exists():
                k += 1
                older = self.path / f"previous-{stamp}-{k}"
            os.replace(prev, older)
        prev.mkdir()
        for name in RUN_FILES:
            if (self.path / name).exists():
                os.replace(self.path / name, prev / name)
        return prev

    def save_epoch(self, model: MLP, meta: Meta, state: dict, state_arrays: dict[str, np.ndarray],
                   improved: bool, config_yaml: str) -> None:
        """Write one epoch: ``best.npz`` if it improved, then ``last.npz`` (with the training
        state: ``state`` holds the ``optimizer`` and ``rng`` fields of :class:`Meta`),
        ``metrics.csv`` and, once, ``config.yaml``."""
        meta = replace(meta, created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        if not (self.path / "config.yaml").exists() or meta.epoch == 1:
            write_text(self.path / "config.yaml", config_yaml)
        # best.npz first: if the run is interrupted between the two writes, last.npz still
        # describes an epoch whose best.npz is on disk.
        if improved:
            checkpoint.save(self.best, model, meta)
        checkpoint.save(self.last, model, replace(meta, **state), state_arrays)
        write_text(self.path / "metrics.csv", metrics_csv(meta.history))

    def adopt_best(self, resume: Path, write: bool = True) -> np.ndarray | None:
        """The best parameters so far of a resumed run; its best.npz is carried into this directory
        (unless ``write`` is false: data-parallel ranks other than 0 only read)."""
        src = resume.parent / "best.npz"
        try:
            best = checkpoint.load(src)
        except MlpnetError:
            return None
        if write and not self.best.exists():
            with atomic_write(self.best) as f:
                f.write(src.read_bytes())
        return best.model.params.copy()

    def record_test(self, test: dict, status: str, run_epochs: int) -> None:
        """Add the best epoch's test metrics to ``best.npz``."""
        best = checkpoint.load(self.best)
        checkpoint.save(self.best, best.model, replace(best.meta, test=test, status=status, run_epochs=run_epochs),
                        best.arrays)

    def held_epoch(self) -> int:
        """The epoch ``last.npz`` really holds (read back: an interrupt may have hit a save), 0 if none."""
        try:
            return checkpoint.load(self.last).meta.epoch
        except MlpnetError:
            return 0

    def point_latest(self) -> None:
        """Record this run as the latest: ``<parent>/latest`` (a relative symlink, when the run
        is under ``runs/``) and the user's state file, which commands read from any folder."""
        if self.path.resolve().parent == DEFAULT_RUNS.resolve():
            latest = self.path.parent / "latest"
            tmp = self.path.parent / f".latest.{os.getpid()}"
            try:
                os.symlink(self.path.name, tmp)
                os.replace(tmp, latest)
            except OSError:
                if tmp.is_symlink():
                    tmp.unlink()
        try:
            _state_file().parent.mkdir(parents=True, exist_ok=True)
            write_text(_state_file(), str(self.path.resolve()) + "\n")
        except OSError:
            pass  # a read-only home only costs the fallback


def fresh_run_dir(path: Path) -> Path:
    """``path`` if it holds no model, else the first of ``path-2``, ``path-3``, ... that holds none.

    The default run directory of a rerun: the earlier model stays where it is, untouched.
    """
    k, candidate = 1, path
    while RunDir(candidate).holds_model():
        k += 1
        candidate = path.with_name(f"{path.name}-{k}")
    return candidate


def default_model() -> Path:
    """The checkpoint commands use without ``--model``: ``runs/latest/best.npz`` in this folder,
    else the best.npz of the latest run trained anywhere by this user."""
    link = DEFAULT_RUNS / "latest"
    run = DEFAULT_RUNS / os.readlink(link) if link.is_symlink() else link
    if (run / "best.npz").exists():
        return run / "best.npz"
    try:
        recorded = Path(_state_file().read_text().strip())
    except OSError:
        recorded = None
    if recorded is not None and (recorded / "best.npz").exists():
        return recorded / "best.npz"
    raise CheckpointError(f"{link / 'best.npz'}: no such checkpoint; train a model first (mlpnet train) "
                          "or name one with --model")


def _state_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "mlpnet" / "latest-run"
