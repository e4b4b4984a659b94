"""``mlpnet sweep``."""

from __future__ import annotations

from pathlib import Path

import click

from .options import handle_errors, output_option, set_option


@click.command()
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(path_type=Path))
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Base config every trial starts from.  [default: none, the values of configs/mnist.yaml]")
@set_option
@output_option("Sweep folder; rerunning resumes it.  [default: sweeps/<sweep name>]", "--out")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="A running Dask scheduler, e.g. tcp://host:8786.  [default: a local cluster]")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local cluster.  [default: one per core]")
@handle_errors
def sweep(sweep_file, config_path, overrides, output, scheduler, workers):
    """Run a hyperparameter sweep (grid or random) with trials on Dask (needs mlpnet[sweep])."""
    from ..errors import ConfigError, MlpnetError, printable
    from ..sweep import load as load_sweep
    from ..sweep import run_sweep
    from ..sweep.results import table
    from ..train.api import resolve_config

    if scheduler is not None and workers is not None:
        raise ConfigError("--workers sizes the local cluster; with --scheduler start the workers yourself "
                          "(dask worker ADDRESS --nthreads 1)")
    base = resolve_config(config_path, overrides)
    spec = load_sweep(sweep_file, base)
    say = lambda line: click.echo(printable(line), err=True)  # noqa: E731  (one line each, escaped)
    outcome = run_sweep(spec, base, output or Path("sweeps") / spec.name, scheduler=scheduler, workers=workers,
                        echo=say)
    for note in outcome.notes:
        say(f"note: {note}")
    click.echo(table(spec, outcome.results))
    say(f"{outcome.ran} trial(s) run in {outcome.seconds:.1f}s; results: {outcome.out / 'results.csv'}")
    if outcome.best is not None:
        say(f"best: trial {outcome.best.trial:03d}, {spec.metric} {outcome.best.metric:.4f}; "
            f"mlpnet train -c {outcome.out / 'best.yaml'}")
    failed = sum(r.status == "failed" for r in outcome.results)
    if failed:
        raise MlpnetError(f"{failed} of {len(outcome.results)} trial(s) failed; see results.csv")
