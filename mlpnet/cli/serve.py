"""``mlpnet serve``."""

from __future__ import annotations

import click

from .options import handle_errors, model_option


@click.command()
@model_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--max-body", "max_body", type=click.IntRange(min=1), default=4 * 1024 * 1024, show_default=True,
              metavar="BYTES", help="Largest request body; larger ones get 413.")
@handle_errors
def serve(model_path, host, port, max_body):
    """Serve a model over HTTP: a drawing page at /, POST /predict, /docs (needs mlpnet[serve])."""
    from ..serve import serve as run_server
    from ..train.rundir import default_model

    run_server(model_path or default_model(), host=host, port=port, max_body=max_body, echo=click.echo)
