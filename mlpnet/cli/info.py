"""``mlpnet info``."""

from __future__ import annotations

import click

from ..fileio import json_text
from .options import handle_errors, json_option, model_option, pick_model, positional_model


@click.command()
@positional_model
@model_option
@json_option
@handle_errors
def info(checkpoint_path, model_path, as_json):
    """Describe a checkpoint (MODEL, the same as --model): architecture, data, training config and metrics."""
    from ..info import describe, format_info
    from ..train.rundir import default_model

    d = describe(pick_model(checkpoint_path, model_path) or default_model())
    if as_json:
        click.echo(json_text(d, indent=2))
    else:
        click.echo(format_info(d))
