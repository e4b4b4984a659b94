"""What every request goes through before the app: a request id, the API key, metrics, the access log.

One plain ASGI middleware (no per-request objects beyond a closure), outermost, so answers
the inner layers make (413 from the body limit, 404, 405) are counted and logged too.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # annotations only: importing this module needs no Starlette
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import Metrics, route_of

PROTECTED = ("/predict", "/batch_predict")
"""Paths that need the API key when one is set (the page, /health and /metrics stay open)."""
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{1,128}")


class Ops:
    """ASGI middleware: ``X-Request-ID``, the API key, Prometheus metrics and one access-log line.

    Parameters
    ----------
    app : ASGI app
    metrics : Metrics
    api_key : str, optional
        When set, POST /predict and /batch_predict need ``Authorization: Bearer KEY`` or
        ``X-API-Key: KEY``; others get 401.
    access_log : text stream, optional
        Where to write one line per request (``-`` in the CLI: standard error).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, api_key: str | None = None,
                 access_log: TextIO | None = None):
        self.app, self.metrics, self.access_log = app, metrics, access_log
        self.api_key = api_key.encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = scope["headers"]
        rid = next((v for k, v in headers if k == b"x-request-id"), None)
        if rid is None or not _REQUEST_ID.fullmatch(rid):
            rid = os.urandom(8).hex().encode()
        status, sent = 500, 0

        async def tracked(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid)]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            if self.api_key is not None and scope["path"] in PROTECTED and not self._authorized(headers):
                await _unauthorized(tracked)
            else:
                await self.app(scope, receive, tracked)
        finally:
            seconds = time.perf_counter() - t0
            route = route_of(scope["path"])
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(seconds)
            if self.access_log is not None:
                self._log(scope, status, sent, seconds, rid)

    def _authorized(self, headers) -> bool:
        for name, value in headers:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                value = value[7:].strip()
            elif name != b"x-api-key":
                continue
            if hmac.compare_digest(value, self.api_key):
                return True
        return False

    def _log(self, scope: Scope, status: int, sent: int, seconds: float, rid: bytes) -> None:
        client = scope.get("client") or ("-", 0)
        query = scope.get("query_string", b"")
        target = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        # One write per line: lines from several workers sharing the stream do not interleave.
        self.access_log.write(f'{stamp}Z {client[0]} "{scope["method"]} {target}" {status} {sent} '
                              f"{seconds * 1000:.1f}ms id={rid.decode()} pid={os.getpid()}\n")
        self.access_log.flush()


async def _unauthorized(send: Send) -> None:
    body = json.dumps({"error": "missing or wrong API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"}
                      ).encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"www-authenticate", b'Bearer realm="mlpnet"')]})
    await send({"type": "http.response.body", "body": body})

