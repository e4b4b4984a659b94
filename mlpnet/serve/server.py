"""Run the app under uvicorn: one process, or worker processes sharing one socket we bind ourselves.

The parent binds and listens, so the URL printed is the real one (port 0 included) and the
workers need no port of their own; with ``workers > 1`` uvicorn's own supervisor
(:class:`uvicorn.supervisors.Multiprocess`) starts them with that socket, restarts one that
dies and stops them all on SIGTERM or Ctrl-C. Each worker loads the checkpoint itself and
runs BLAS on one thread: the processes are the parallelism.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import MlpnetError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
GRACEFUL_SECONDS = 10
"""How long requests in progress get to finish after SIGTERM or Ctrl-C."""
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def require_extra() -> None:
    """Fail in one line when the ``serve`` extra is not installed."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
        import multipart  # noqa: F401  (python-multipart, for file uploads)
        import httptools  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError as err:
        raise MlpnetError(f"mlpnet serve needs {err.name}: pip install \"mlpnet[serve]\"") from None


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_warning(host: str, api_key: str | None) -> str | None:
    """What to tell the user who listens on an address other machines can reach; None for loopback."""
    if is_loopback(host):
        return None
    return (f"warning: listening on {host}: anyone who can reach it can use the model; there is no TLS, "
            + ("only the API key guards /predict and /batch_predict" if api_key
               else "and no authentication (see --api-key)"))


def read_api_key(path: str | Path) -> str:
    """The key in a file (its first line, surrounding blanks removed); one-line errors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise MlpnetError(f"{path}: cannot read the API key ({getattr(err, 'strerror', None) or err})") from None
    key = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not key:
        raise MlpnetError(f"{path}: the API key file is empty")
    return key


def worker_app(model_path: str, access_log: bool, metrics_dir: str | None, **options):
    """The app of one server process (uvicorn calls it in each worker: ``factory=True``)."""
    from threadpoolctl import threadpool_limits

    from .app import create_app

    threadpool_limits(1)  # one BLAS thread per worker; the workers are the parallelism
    return create_app(model_path, access_log=sys.stderr if access_log else None, metrics_dir=metrics_dir,
                      **options)


def serve(model_path: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          max_body: int | None = None, *, workers: int | None = None, api_key: str | None = None,
          access_log: bool = False, read_timeout: float | None = None,
          echo: Callable[[str], None] = print, warn: Callable[[str], None] | None = None) -> None:
    """Serve ``model_path`` until Ctrl-C or SIGTERM; ``echo`` gets ``serving on http://HOST:PORT`` first.

    Parameters
    ----------
    workers : int, optional
        Server processes; default one per core (:func:`default_workers`).
    api_key : str, optional
        Required by POST /predict and /batch_predict when set.
    access_log : bool
        One line per request on standard error.
    read_timeout : float, optional
        Seconds a request may take to arrive (408 after that).

    Port 0 picks a free port (the printed URL names it). Raises :class:`MlpnetError` for a
    bad checkpoint or an address that cannot be bound. On SIGTERM or Ctrl-C the server stops
    accepting, answers the requests it has, and exits (``stopped``).
    """
    require_extra()
    import uvicorn

    from .. import checkpoint
    from .app import DEFAULT_MAX_BODY
    from .protocol import DEFAULT_READ_TIMEOUT, Protocol

    warn = warn or (lambda m: print(m, file=sys.stderr))
    workers = workers or default_workers()
    checkpoint.load(model_path)  # a bad file fails here in one line, not in every worker
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    if host_warning(host, api_key):
        warn(host_warning(host, api_key))
    metrics_dir = tempfile.mkdtemp(prefix="mlpnet-serve-metrics-") if workers > 1 else None
    if metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # read by the workers' prometheus_client
        for var in BLAS_THREAD_VARS:
            os.environ[var] = "1"  # the workers' BLAS starts with one thread
    app = functools.partial(worker_app, str(model_path), access_log, metrics_dir,
                            max_body=DEFAULT_MAX_BODY if max_body is None else max_body, api_key=api_key)
    config = uvicorn.Config(app, factory=True, workers=workers, log_level="warning", access_log=False,
                            http=functools.partial(Protocol, read_timeout=read_timeout or DEFAULT_READ_TIMEOUT),
                            timeout_graceful_shutdown=GRACEFUL_SECONDS)
    echo(f"serving on http://{shown}:{bound}")
    try:
        if workers > 1:
            _supervisor_class()(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the Ctrl-C
        pass
    finally:
        sock.close()
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    echo("stopped")


def _bind(host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
        # without it each response waits ~40 ms for a delayed ACK (headers and body are two writes).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, OverflowError) as err:
        raise MlpnetError(f"cannot listen on {host}:{port} ({getattr(err, 'strerror', None) or err})") from None
    sock.set_inheritable(True)
    return sock


def _supervisor_class():
    from uvicorn.supervisors import Multiprocess

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, acting on SIGTERM and Ctrl-C at once rather than at its next 0.5 s tick.

        It closes the parent's copy of the socket first: the workers stop accepting as they
        begin to drain, and were the parent to keep its copy open until they have exited,
        the kernel would go on queueing connections that nobody will accept.
        """

        def __init__(self, config, sockets):
            super().__init__(config, sockets)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, self._stop)

        def _stop(self, sig, frame) -> None:
            for sock in self.sockets:
                sock.close()
            self.should_exit.set()

    return Supervisor

