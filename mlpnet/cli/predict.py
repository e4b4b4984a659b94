"""``mlpnet predict``."""

from __future__ import annotations

from pathlib import Path

import click

from ..fileio import json_text
from .options import handle_errors, json_option, model_option, model_or_latest, output_option


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="IMAGE_OR_DIR...")
@model_option
@click.option("--top-k", "top_k", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many classes to list per image.")
@json_option
@click.option("--save-preprocessed", "save_dir", type=click.Path(path_type=Path), default=None,
              help="Write the 28x28 image the network actually saw into this folder.")
@output_option("Also write the predictions as CSV (id, label, probability), one row per input.")
@handle_errors
def predict(inputs, model_path, top_k, as_json, save_dir, output):
    """Classify images (PNG, JPEG, BMP, GIF, TIFF, WebP), folders of them, or CSV rows.

    Photos and drawings of digits, dark ink on light paper included, are normalised the
    way MNIST was (see --save-preprocessed for what the network saw).
    """
    from ..errors import MlpnetError, printable
    from ..predict import format_prediction, predict_files, write_csv

    if output is not None and output.is_dir():
        raise MlpnetError(f"{output}: --output needs a file name, and this is a folder")
    res = predict_files(model_or_latest(model_path), list(inputs), top_k=top_k, save_dir=save_dir)
    for note in res.notes:
        click.echo(printable(f"note: {note}"), err=True)
    if output is not None and res.predictions:
        click.echo(f"wrote {write_csv(res, output)} ({len(res.predictions)} rows)", err=True)
    if as_json:
        # One entry per answer and one {"input", "error"} per input that failed, in the inputs' order;
        # the exit status is 1 if any failed (docs/guide/commands.md, "predict --json").
        click.echo(json_text(res.entries()))
    else:
        for p in res.predictions:
            click.echo(printable(format_prediction(p)))
    for err in res.errors:
        click.echo(printable(f"error: {err}"), err=True)
    if res.errors:
        raise MlpnetError(f"{len(res.errors)} input(s) could not be predicted, {len(res.predictions)} answer(s) given"
                          if res.predictions else "nothing could be predicted")
