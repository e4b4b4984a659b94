"""``mlpnet info``."""

from __future__ import annotations

from pathlib import Path

import click

from .options import handle_errors, json_option


@click.command()
@click.argument("checkpoint_path", metavar="[CKPT]", required=False, type=click.Path(path_type=Path))
@json_option
@handle_errors
def info(checkpoint_path, as_json):
    """Describe a checkpoint: architecture, data, training config and metrics."""
    from ..info import describe, format_info
    from ..train.rundir import default_model

    d = describe(checkpoint_path or default_model())
    if as_json:
        import json

        click.echo(json.dumps(d, indent=2))
    else:
        click.echo(format_info(d))
