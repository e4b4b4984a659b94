"""``mlpnet evaluate``."""

from __future__ import annotations

from pathlib import Path

import click

from ..fileio import json_text
from .options import (handle_errors, json_option, model_option, model_or_latest, output_option, pick_model,
                      positional_model)


@click.command()
@positional_model
@model_option
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True,
              help="Which split of the dataset to evaluate on.")
@click.option("--set", "overrides", multiple=True, metavar="data.KEY=VALUE",
              help="Evaluate on other data, e.g. --set data.path=other/folder; repeatable.")
@json_option
@output_option("Write the plots into this folder: confusion_matrix.png and misclassified.png (a regressor: "
               "predicted_vs_true.png and residuals.png; multilabel: label_confusion.png); needs mlpnet[plot].", "--plots")
@handle_errors
def evaluate(checkpoint_path, model_path, split, overrides, as_json, output):
    """Report loss, accuracy, top-k, per-class precision/recall/F1 and the confusion matrix;
    R^2, MAE and RMSE per target for a regressor; subset accuracy, Hamming loss and F1 for multilabel."""

    from ..errors import MlpnetError, printable
    from ..evaluate import evaluate_checkpoint, write_plots
    from ..evaluate import format_evaluation
    from ..plots import PlotUnavailable

    plots_dir = output
    if plots_dir is not None and plots_dir.exists() and not plots_dir.is_dir():
        raise MlpnetError(f"{plots_dir}: --output needs a folder for the plots, and this is a file")
    ev = evaluate_checkpoint(model_or_latest(pick_model(checkpoint_path, model_path)), split, list(overrides))
    for note in ev.notes:
        click.echo(printable(f"note: {note}"), err=True)
    if as_json:
        click.echo(json_text({"model": str(ev.checkpoint), "split": split, **ev.to_dict()}))
    else:
        click.echo(f"{ev.checkpoint} on the {split} split")
        click.echo(format_evaluation(ev))
    if plots_dir is not None:
        try:
            for p in write_plots(ev, plots_dir):
                click.echo(f"wrote {p}", err=True)
        except PlotUnavailable as err:
            click.echo(f"note: {err}", err=True)
