"""``mlpnet export``."""

from __future__ import annotations

from pathlib import Path

import click

from .options import handle_errors, model_option, output_option, pick_model, positional_model


@click.command()
@positional_model
@model_option
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True,
              help="Output format.")
@output_option("File to write.  [default: the checkpoint's path with the format's suffix]")
@handle_errors
def export(checkpoint_path, model_path, fmt, output):
    """Export a checkpoint (MODEL, the same as --model), its input transform included, to ONNX (needs mlpnet[onnx])."""
    from ..export.onnx import export as to_file
    from ..train.rundir import default_model

    out = output
    ckpt = pick_model(checkpoint_path, model_path) or default_model()
    click.echo(f"wrote {to_file(ckpt, out or Path(ckpt).with_suffix('.' + fmt))}")
