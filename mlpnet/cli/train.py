"""``mlpnet train``."""

from __future__ import annotations

from pathlib import Path

import click

from .options import handle_errors, output_option, set_option


@click.command()
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="YAML config; keys it leaves out keep their built-in values (--print-config shows all).  "
                   "[default: none, the values of configs/mnist.yaml]")
@set_option
@output_option("Run directory; runs/latest points at it.  [default: runs/<name>: the name key, else the stem of data.path, else of the config file, else the dataset; a rerun gets runs/<name>-2]",
               "--out")
@click.option("--resume", "resume", type=click.Path(path_type=Path), default=None,
              help="Continue a run from its last.npz (only train.epochs, train.early_stopping, "
                   "train.threads, data.path, data.download may change).")
@click.option("--overwrite", is_flag=True, help="Replace a model already in the run directory (kept in previous/).")
@click.option("--print-config", is_flag=True, help="Print the resolved config as YAML and exit.")
@click.option("--log-format", type=click.Choice(["jsonl", "csv"]), default=None,
              help="Also print one machine-readable line per epoch on stdout.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars.  [default: when stderr is a terminal]")
@handle_errors
def train(config_path, overrides, output, resume, overwrite, print_config, log_format, progress):
    """Train a model and write its run directory (config, metrics, checkpoints)."""
    from ..errors import printable
    from ..train.api import resolve_config, resume_config
    from ..train.api import train as run_training

    if print_config:
        cfg = resume_config(resume, overrides) if resume is not None else resolve_config(config_path, overrides)
        click.echo(cfg.to_yaml(), nl=False)
        return
    say = lambda line: click.echo(printable(line), err=True)  # noqa: E731  (one line each, escaped)
    result = run_training(config_path, overrides, output, resume=resume, overwrite=overwrite, progress=progress,
                          echo=say, log_format=log_format)
    from ..distributed import mpi

    if not mpi.world().is_root:
        return  # data parallel: rank 0 reports
    out = say if log_format else click.echo
    if result.test:
        t = result.test
        score = f"r2 {t['r2']:.4f}" if "r2" in t else f"accuracy {t['accuracy']:.4f}"
        out(f"test {score} (loss {t['loss']:.4f}) on {t['n']} samples, "
            f"model of epoch {result.best_epoch}")
    out(f"model: {result.out_dir / 'best.npz'}")
