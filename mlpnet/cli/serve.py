"""``mlpnet serve``."""

from __future__ import annotations

import click

from .options import handle_errors, model_option, pick_model, positional_model


@click.command()
@positional_model
@model_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; another than loopback is reachable by others (a warning says so).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="Server processes sharing the port, each with one BLAS thread.  [default: one per core]")
@click.option("--max-body", "max_body", type=click.IntRange(min=1), default=4 * 1024 * 1024, show_default=True,
              metavar="BYTES", help="Largest request body; larger ones get 413.")
@click.option("--read-timeout", "read_timeout", type=click.FloatRange(min=0.1), default=15.0, show_default=True,
              metavar="SECONDS", help="Time a request may take to arrive, headers and body; slower ones get 408.")
@click.option("--api-key", "api_key", default=None, envvar="MLPNET_API_KEY", metavar="KEY",
              help="Require this key on POST /predict and /batch_predict (Authorization: Bearer KEY or "
                   "X-API-Key: KEY); also read from $MLPNET_API_KEY.")
@click.option("--api-key-file", "api_key_file", type=click.Path(path_type=str), default=None, metavar="FILE",
              help="Read the API key from the first line of FILE (keeps it out of the process list).")
@click.option("--access-log", "access_log", is_flag=True, help="Write one line per request to standard error.")
@handle_errors
def serve(checkpoint_path, model_path, host, port, workers, max_body, read_timeout, api_key, api_key_file, access_log):
    """Serve a model over HTTP: a drawing page at /, POST /predict, /metrics, /docs (needs mlpnet[serve])."""
    from ..errors import MlpnetError
    from ..serve import serve as run_server
    from ..serve.server import read_api_key
    from ..train.rundir import default_model

    if api_key and api_key_file:
        raise MlpnetError("give the API key once: --api-key or --api-key-file, not both")
    if api_key_file:
        api_key = read_api_key(api_key_file)
    run_server(pick_model(checkpoint_path, model_path) or default_model(), host=host, port=port, max_body=max_body, workers=workers,
               api_key=api_key or None, access_log=access_log, read_timeout=read_timeout, echo=click.echo,
               warn=lambda m: click.echo(m, err=True))
