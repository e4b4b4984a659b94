"""uvicorn's httptools protocol with a read timeout and a gentler drain on shutdown.

* **Read timeout.** uvicorn times out idle keep-alive connections but not a request that
  arrives slowly: a client sending one byte a second holds its connection (and, once the
  headers are in, an app task waiting for the body) for as long as it likes. Here each
  request must arrive whole, headers and body, within ``read_timeout`` seconds of its first
  byte (of the connection, for the first request); otherwise the client gets 408 and the
  connection is closed. Other clients are unaffected either way: waiting costs no CPU.
* **Drain.** On SIGTERM or Ctrl-C uvicorn stops accepting, lets requests in progress finish,
  and closes idle keep-alive connections at once, which cuts a request already on its way
  from a client that had not yet seen the close. Here an idle connection is kept for
  ``DRAIN_GRACE`` seconds more; a request arriving on it meanwhile is answered with
  ``Connection: close``, and the connection closes after that answer or after the grace.
"""

from __future__ import annotations

import asyncio
import json

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError as err:  # httptools is part of the serve extra
    raise ImportError(f'mlpnet.serve.protocol needs {err.name}: pip install "mlpnet[serve]"') from None

DEFAULT_READ_TIMEOUT = 15.0
DRAIN_GRACE = 0.5


def _response_408(seconds: float) -> bytes:
    body = json.dumps({"error": f"the request did not arrive within {seconds:g} s (see --read-timeout)"}).encode()
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)


class Protocol(HttpToolsProtocol):
    """An HTTP/1.1 connection: uvicorn's, plus ``read_timeout`` and the drain above."""

    def __init__(self, *args, read_timeout: float = DEFAULT_READ_TIMEOUT, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout
        self._read_timer: asyncio.TimerHandle | None = None
        self._headers_in = False  # of the request now arriving
        self._draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._headers_in = False
        if self._read_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._headers_in = True
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def shutdown(self) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._draining = True
            self.loop.call_later(DRAIN_GRACE, self._close_if_idle)
        else:
            self.cycle.keep_alive = False

    def _close_if_idle(self) -> None:
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.read_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle if self._headers_in else None
        if cycle is None or not cycle.response_started:
            # Headers still arriving, or the app still waiting for the body: say why we hang up.
            self.transport.write(_response_408(self.read_timeout))
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() now says the client has gone
            cycle.message_event.set()
        self.transport.close()
