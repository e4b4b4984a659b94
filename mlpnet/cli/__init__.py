"""The ``mlpnet`` command: parses options, calls one library function, prints the result.

Library modules are imported inside the commands, not at the top, so that
``mlpnet --help`` starts without loading NumPy.
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
from pathlib import Path

import click

from . import __version__

DEFAULT_RUNS = Path("runs")


def _debug_option(f):
    return click.option("--debug", is_flag=True, help="Show the full traceback on errors.")(f)


def _set_option(f):
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
                        help="Override a config key (dotted path, YAML value); repeatable.")(f)


def _model_option(f):
    return click.option("--model", "model_path", type=click.Path(path_type=Path), default=None,
                        help="Checkpoint to use [default: runs/latest/best.npz].")(f)


def _json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")(f)


def handle_errors(f):
    """Turn mlpnet errors into one line on stderr and a non-zero exit (tracebacks with --debug)."""

    @functools.wraps(f)
    def wrapper(*args, debug: bool = False, **kwargs):
        from .errors import MlpnetError

        try:
            return f(*args, **kwargs)
        except MlpnetError as err:
            if debug:
                traceback.print_exc()
            click.echo("error: " + str(err).replace("\n", "\\n"), err=True)  # always one line
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            if debug:
                traceback.print_exc()
            click.echo("interrupted", err=True)
            sys.exit(130)
        except OSError as err:
            if debug:
                traceback.print_exc()
            where = f"{err.filename}: " if getattr(err, "filename", None) else ""
            click.echo(f"error: {where}{err.strerror or err}", err=True)
            sys.exit(1)
        except Exception as err:  # a bug: say so in one line, keep the traceback for --debug
            if debug:
                raise
            click.echo(f"internal error: {type(err).__name__}: {err} (run with --debug for the traceback)", err=True)
            sys.exit(3)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mlpnet")
def cli() -> None:
    """Train, evaluate and use multilayer perceptrons on NumPy.

    \b
    mlpnet train                      train the default MNIST model
    mlpnet train -c configs/fashion-mnist.yaml --set train.epochs=5
    mlpnet evaluate                   metrics of the latest run, class by class
    mlpnet predict my-digit.png       read your own image
    """


@cli.command()
@click.option("-c", "--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="YAML config [default: the built-in MNIST config, same as configs/mnist.yaml].")
@_set_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Run directory [default: runs/<config name>; runs/latest points at it].")
@click.option("--resume", "resume", type=click.Path(path_type=Path), default=None,
              help="Continue a run from its last.npz (only train.epochs, train.early_stopping, "
                   "train.threads, data.path, data.download may change).")
@click.option("--overwrite", is_flag=True, help="Replace a model already in the run directory.")
@click.option("--print-config", is_flag=True, help="Print the resolved config as YAML and exit.")
@click.option("--log-format", type=click.Choice(["jsonl", "csv"]), default=None,
              help="Also print one machine-readable line per epoch on stdout.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bars [default: when stderr is a terminal].")
@_debug_option
@handle_errors
def train(config_path, overrides, out_dir, resume, overwrite, print_config, log_format, progress):
    """Train a model and write its run directory (config, metrics, checkpoints)."""
    from . import config as config_mod
    from .trainer import RESUMABLE_KEYS
    from .trainer import train as run_training

    if resume is not None and config_path is not None:
        raise config_mod.ConfigError("--resume uses the config stored in the checkpoint; "
                                     "drop -c and change allowed keys with --set")
    cfg = None
    if resume is None:
        cfg = config_mod.load(config_path, list(overrides))
    if print_config:
        if cfg is None:
            from .checkpoint import load as load_checkpoint

            stored = config_mod.from_dict(load_checkpoint(resume).meta["config"], str(resume))
            cfg = config_mod.apply_overrides(stored, list(overrides), allowed=RESUMABLE_KEYS)
        click.echo(cfg.to_yaml(), nl=False)
        return
    if out_dir is None:
        out_dir = resume.parent if resume is not None else DEFAULT_RUNS / cfg.name
    say = functools.partial(click.echo, err=True)
    result = run_training(cfg, out_dir, resume=resume, resume_overrides=list(overrides), overwrite=overwrite,
                          progress=progress, echo=say, log_format=log_format)
    if Path(out_dir).resolve().parent == DEFAULT_RUNS.resolve():
        _point_latest(Path(out_dir))
    out = say if log_format else click.echo
    best = result.out_dir / "best.npz"
    if result.test:
        t = result.test
        out(f"test accuracy {t['accuracy']:.4f} (loss {t['loss']:.4f}) on {t['n']} samples, "
            f"model of epoch {result.best_epoch}")
    out(f"model: {best}")


def _point_latest(run_dir: Path) -> None:
    """Make ``runs/latest`` a symlink to the newest run directory (replaced atomically)."""
    latest = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest.{os.getpid()}"
    try:
        os.symlink(run_dir.name, tmp)
        os.replace(tmp, latest)
    except OSError:
        if tmp.is_symlink():
            tmp.unlink()


def default_model() -> Path:
    """The checkpoint commands use without ``--model``: the latest run's best.npz, resolved."""
    from .errors import CheckpointError

    link = DEFAULT_RUNS / "latest"
    run = DEFAULT_RUNS / os.readlink(link) if link.is_symlink() else link
    if not (run / "best.npz").exists():
        raise CheckpointError(f"{link / 'best.npz'}: no such checkpoint; train a model first (mlpnet train) "
                              "or name one with --model")
    return run / "best.npz"


@cli.command()
@_model_option
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True,
              help="Which split of the dataset to evaluate on.")
@click.option("--set", "overrides", multiple=True, metavar="data.KEY=VALUE",
              help="Evaluate on other data, e.g. --set data.path=other/folder; repeatable.")
@_json_option
@click.option("--plots", "plots_dir", type=click.Path(path_type=Path), default=None,
              help="Write confusion_matrix.png and misclassified.png into this folder (needs mlpnet[plot]).")
@_debug_option
@handle_errors
def evaluate(model_path, split, overrides, as_json, plots_dir):
    """Report loss, accuracy, top-k, per-class precision/recall/F1 and the confusion matrix."""
    import json

    from .errors import MlpnetError
    from .evaluate import evaluate_checkpoint, write_plots
    from .metrics import format_report
    from .plots import PlotUnavailable

    if plots_dir is not None and plots_dir.exists() and not plots_dir.is_dir():
        raise MlpnetError(f"{plots_dir}: --plots needs a folder, and this is a file")
    ev = evaluate_checkpoint(model_path or default_model(), split, list(overrides))
    if as_json:
        click.echo(json.dumps({"model": str(ev.checkpoint), "split": split, **ev.report.to_dict()}))
    else:
        click.echo(f"{ev.checkpoint} on the {split} split")
        click.echo(format_report(ev.report))
    if plots_dir is not None:
        try:
            for p in write_plots(ev, plots_dir):
                click.echo(f"wrote {p}", err=True)
        except PlotUnavailable as err:
            click.echo(f"note: {err}", err=True)


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="IMAGE_OR_DIR...")
@_model_option
@click.option("--top-k", "top_k", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many classes to list per image.")
@_json_option
@click.option("--save-preprocessed", "save_dir", type=click.Path(path_type=Path), default=None,
              help="Write the 28x28 image the network actually saw into this folder.")
@_debug_option
@handle_errors
def predict(inputs, model_path, top_k, as_json, save_dir):
    """Classify images (PNG, JPEG, BMP, GIF, TIFF, WebP), folders of them, or CSV rows.

    Photos and drawings of digits, dark ink on light paper included, are normalised the
    way MNIST was (see --save-preprocessed for what the network saw).
    """
    from .errors import MlpnetError
    from .predict import format_prediction, predict_files

    res = predict_files(model_path or default_model(), list(inputs), top_k=top_k, save_dir=save_dir)
    if as_json:
        import json

        click.echo(json.dumps([p.to_dict() for p in res.predictions]))
    else:
        for p in res.predictions:
            click.echo(format_prediction(p))
    for err in res.errors:
        click.echo(f"error: {err}", err=True)
    if res.errors:
        total = len(res.predictions) + len(res.errors)
        raise MlpnetError(f"{len(res.errors)} of {total} input(s) could not be predicted" if res.predictions
                          else "nothing could be predicted")


@cli.command()
@click.argument("checkpoint_path", metavar="[CKPT]", required=False, type=click.Path(path_type=Path))
@_json_option
@_debug_option
@handle_errors
def info(checkpoint_path, as_json):
    """Describe a checkpoint: architecture, data, training config and metrics."""
    from .info import describe, format_info

    d = describe(checkpoint_path or default_model())
    if as_json:
        import json

        click.echo(json.dumps(d, indent=2))
    else:
        click.echo(format_info(d))


def main() -> None:
    cli(prog_name="mlpnet")


if __name__ == "__main__":
    main()
