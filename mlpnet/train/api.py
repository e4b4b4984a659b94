"""``mlpnet.train``: the one function the CLI's ``train`` command calls."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from .. import checkpoint
from .. import config as config_mod
from ..config import Config
from ..distributed import mpi
from .loop import RESUMABLE_KEYS, RunResult, fit
from .report import Reporter
from .rundir import DEFAULT_RUNS, RunDir, fresh_run_dir


def resolve_config(config: str | Path | Config | dict | None = None, overrides=()) -> Config:
    """A validated config from a YAML path, a ``Config``, a plain dict, or None (the built-in default),
    with ``KEY=VALUE`` overrides applied."""
    if config is None or isinstance(config, (str, Path)):
        return config_mod.load(config, list(overrides))
    if isinstance(config, dict):
        cfg = config_mod.apply_overrides(config_mod.from_dict(config, "config dict"), list(overrides))
    else:
        cfg = config_mod.apply_overrides(config, list(overrides))
    if cfg.name is None:
        cfg.name = config_mod.default_name(cfg)
    return cfg


def resume_config(resume: str | Path, overrides=()) -> Config:
    """The config a resumed run will use: the checkpoint's, with the resumable overrides."""
    return config_mod.stored_config(checkpoint.load(resume).meta.config, resume, overrides,
                                    allowed=RESUMABLE_KEYS)


def train(config: str | Path | Config | dict | None = None, overrides=(), out: str | Path | None = None, *,
          resume: str | Path | None = None, overwrite: bool = False, progress: bool | None = None,
          echo: Callable[[str], None] | None = None, log_format: str | None = None, log_stream=None) -> RunResult:
    """Train a model and write its run directory.

    Parameters
    ----------
    config : path, Config, dict or None
        A YAML config file, a config object or dict, or None for the built-in default.
    overrides : sequence of str
        ``KEY=VALUE`` overrides (dotted keys, YAML values), validated like the file.
    out : path, optional
        The run directory; default ``runs/<name>`` (then ``runs/latest`` points at it).
    resume : path, optional
        Continue the run in this ``last.npz`` (``config`` must then be None; only the keys in
        ``RESUMABLE_KEYS`` may be overridden).
    overwrite : bool
        Train into a directory that holds a model, moving that model to ``previous/``.
    progress : bool, optional
        tqdm bars; default: when stderr is a terminal.
    echo : callable, optional
        Receives the human-readable lines (default: print to stderr).
    log_format : {"jsonl", "csv"}, optional
        One machine-readable line per epoch (and a final test record) on ``log_stream`` (stdout).

    Returns
    -------
    RunResult
        Run directory, epochs, best epoch and value, test metrics, history, resolved config.
    """
    if resume is not None:
        if config is not None:
            raise config_mod.ConfigError("--resume uses the config stored in the checkpoint; "
                                         "drop -c and change allowed keys with --set")
        cfg = resume_config(resume, overrides)
        out = Path(resume).parent if out is None else out
    else:
        cfg = resolve_config(config, overrides)
    if progress is None:
        progress = sys.stderr.isatty()
    reporter = Reporter(echo or (lambda line: print(line, file=sys.stderr)), progress, log_format, log_stream)
    if out is None:
        # The default directory never refuses a rerun: a model already there stays, this run goes beside it.
        # --overwrite still means "replace the model in runs/<name>".
        default = DEFAULT_RUNS / cfg.name
        out = default if overwrite else fresh_run_dir(default)
        if out != default:
            reporter.echo(f"note: {default} already holds a model, kept; this run goes to {out}")
    result = fit(cfg, out, resume=resume, resume_overrides=list(overrides) if resume is not None else (),
                 overwrite=overwrite, reporter=reporter)
    if mpi.world().is_root:
        RunDir(out).point_latest()
    return result
