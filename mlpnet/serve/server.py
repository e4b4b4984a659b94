"""Run the app under uvicorn on a socket we bind ourselves, so the URL printed is the real one."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Callable

from ..errors import MlpnetError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def require_extra() -> None:
    """Fail in one line when the ``serve`` extra is not installed."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
        import multipart  # noqa: F401  (python-multipart, for file uploads)
    except ImportError as err:
        raise MlpnetError(f"mlpnet serve needs {err.name}: pip install \"mlpnet[serve]\"") from None


def serve(model_path: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          max_body: int | None = None, echo: Callable[[str], None] = print) -> None:
    """Serve ``model_path`` until Ctrl-C or SIGTERM; ``echo`` gets ``serving on http://HOST:PORT`` first.

    Port 0 picks a free port (the printed URL names it). Raises :class:`MlpnetError` for a
    bad checkpoint or an address that cannot be bound.
    """
    require_extra()
    import uvicorn

    from .app import DEFAULT_MAX_BODY, create_app

    app = create_app(model_path, max_body=DEFAULT_MAX_BODY if max_body is None else max_body)
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
        # without it each response waits ~40 ms for a delayed ACK (headers and body are two writes).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as err:
        raise MlpnetError(f"cannot listen on {host}:{port} ({getattr(err, 'strerror', None) or err})") from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    echo(f"serving on http://{shown}:{bound}")
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=3)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the Ctrl-C
        pass
    finally:
        sock.close()
    echo("stopped")
