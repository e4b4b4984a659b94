"""``mlpnet export``."""

from __future__ import annotations

from pathlib import Path

import click

from .options import handle_errors


@click.command()
@click.argument("checkpoint_path", metavar="[CKPT]", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["onnx"]), default="onnx", show_default=True,
              help="Output format.")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), default=None,
              help="File to write [default: the checkpoint's path with the format's suffix].")
@handle_errors
def export(checkpoint_path, fmt, out):
    """Export a checkpoint, its input transform included, to ONNX (needs mlpnet[onnx])."""
    from ..export.onnx import export as to_file
    from ..train.rundir import default_model

    ckpt = checkpoint_path or default_model()
    click.echo(f"wrote {to_file(ckpt, out or Path(ckpt).with_suffix('.' + fmt))}")
