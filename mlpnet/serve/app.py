"""``mlpnet serve``: a Starlette app that answers images and rows over HTTP, and a drawing page.

Routes::

    GET  /               the drawing page (static/index.html; a form for tabular models)
    GET  /static/...     its CSS and JavaScript, shipped inside the package
    POST /predict        one image (multipart field ``file``, or raw bytes) or JSON rows
    POST /batch_predict  several images (multipart fields ``file``), one answer each
    GET  /health         liveness
    GET  /model          what ``mlpnet info --json`` says about the checkpoint
    GET  /metrics        Prometheus metrics of every worker (requests, latency, batch sizes, model)
    GET  /openapi.json   the OpenAPI schema, built from the endpoints' docstrings
    GET  /docs           that schema as a readable page (no CDN: served from the package)

Every error is a JSON object ``{"error": "<one line>"}`` with a 4xx status; the body limit
is enforced while the body streams in (413), before the endpoint has read it all.
A small upload (a digit, a few rows) is answered on the event loop: it takes well under a
millisecond, less than handing it to a thread costs. A large one (a photo, a batch) runs
in a worker thread so the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TextIO

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.schemas import SchemaGenerator
    from starlette.staticfiles import StaticFiles
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as err:  # the optional extra is not installed
    missing = (err.name or "starlette").split(".")[0]
    raise ImportError(f'mlpnet.serve.app needs {missing}: pip install "mlpnet[serve]"') from None

from ..errors import MlpnetError
from .metrics import CONTENT_TYPE, Metrics
from .model import BadInput, Served
from .ops import Ops

STATIC = Path(__file__).parent / "static"
DEFAULT_MAX_BODY = 4 * 1024 * 1024
MAX_FILES = 64
INLINE_BYTES = 64 * 1024
"""Bodies up to this size are answered on the event loop, larger ones in a thread (see the module doc)."""
log = logging.getLogger("mlpnet.serve")


class BodyTooLarge(Exception):
    """Raised from ``receive`` as soon as a request body passes the limit."""


class BodyLimit:
    """ASGI middleware: 413 for a declared Content-Length over ``limit``, or once the streamed body passes it.

    Counting in ``receive`` means a chunked upload without Content-Length is cut off at
    the limit instead of being buffered whole.
    """

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._too_large(scope, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge()
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        response = _error(413, f"request body over the limit of {self.limit:,} bytes (see --max-body)")
        response.headers["connection"] = "close"  # the rest of the body is not worth reading
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


def create_app(model_path: str | Path, *, max_body: int = DEFAULT_MAX_BODY, api_key: str | None = None,
               access_log: TextIO | None = None, metrics_dir: str | None = None) -> Starlette:
    """Build the ASGI app serving the checkpoint at ``model_path``.

    Parameters
    ----------
    model_path : path
        A checkpoint; loaded once, here (a bad file raises :class:`MlpnetError`).
    max_body : int
        Largest request body in bytes; larger ones get 413.
    api_key : str, optional
        Required by POST /predict and /batch_predict when set (401 without it).
    access_log : text stream, optional
        One line per request is written there.
    metrics_dir : str, optional
        The folder worker processes share their metrics in (see :mod:`mlpnet.serve.metrics`).
    """
    served = Served(model_path)
    sizes = "-".join(map(str, served.description["architecture"]["sizes"]))
    metrics = Metrics({"file": served.path.name, "architecture": sizes, "input": served.kind,
                       "classes": str(len(served.classes))}, metrics_dir)
    served.observe_batch = metrics.batch.observe
    schemas = SchemaGenerator({"openapi": "3.0.0", "info": {
        "title": "mlpnet", "version": served.description.get("mlpnet_version") or "0",
        "description": f"Predictions of {served.path.name} ({sizes}, {served.kind} input)."}})
    page = _page(served.kind)

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.collect(), media_type=CONTENT_TYPE)

    async def health(request: Request) -> Response:
        """
        summary: Liveness check.
        responses:
          200: {description: 'status "ok" and the checkpoint file name'}
        """
        return JSONResponse({"status": "ok", "model": served.path.name})

    async def model_info(request: Request) -> Response:
        """
        summary: The served checkpoint, as `mlpnet info --json` describes it.
        responses:
          200: {description: 'architecture, parameters, dataset, classes, input format, config, metrics'}
        """
        return JSONResponse(served.description)

    async def predict(request: Request) -> Response:
        """
        summary: Classify one image, or rows of a tabular model.
        description: >
          Image models take an image file in the multipart field `file`, or the raw image
          bytes as the body (any Content-Type but JSON or multipart). The image goes
          through the same preprocessing as `mlpnet predict`. Query flags: `pixels=1` adds the
          network's input as a list of uint8 values, `activations=1` the hidden layers' values
          (each layer scaled by its largest magnitude). Tabular models take JSON
          {"rows": [[v, ...], ...]} or {"rows": [{"feature": v, ...}, ...]}.
        requestBody:
          content:
            multipart/form-data: {schema: {type: object, properties: {file: {type: string, format: binary}}}}
            image/png: {schema: {type: string, format: binary}}
            application/json: {schema: {type: object, properties: {rows: {type: array}}}}
        responses:
          200:
            description: >
              Image: {label, index, probability, probabilities: {label: p}, input: {shape, png
              (base64), [pixels]}, [activations]}. Tabular: {predictions: [{label, index, probability,
              probabilities}, ...]}.
          400: {description: 'not an image, no file field, malformed JSON, a query flag other than 0 or 1: {"error": ...}'}
          401: {description: 'the server has an API key and the request did not send it'}
          413: {description: body over the limit}
          422: {description: 'blank image, rows of the wrong width or non-numeric values: {"error": ...}'}
        """
        q = request.query_params
        pixels, activations = _flag(q, "pixels"), _flag(q, "activations")
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            body = await request.body()
            rows = _rows(_json(body))
            return JSONResponse({"predictions": await _run(len(body) <= INLINE_BYTES, served.predict_rows, rows)})
        if ctype.startswith("multipart/form-data"):
            files = await _files(request)
            if len(files) != 1:
                raise BadInput(f"expected one file in the multipart field 'file', got {len(files)}"
                               + ("; use /batch_predict for several" if files else ""), status=400)
            name, data = files[0]
        else:
            name, data = "upload", await request.body()
        return JSONResponse(await _run(len(data) <= INLINE_BYTES, served.predict_image, data, name, pixels=pixels,
                                       activations=activations))

    async def batch_predict(request: Request) -> Response:
        """
        summary: Classify several images at once.
        description: >
          Multipart form with one or more `file` fields (at most 64). Each gets the answer
          /predict would give, or its own one-line error; the others are still answered.
        requestBody:
          content:
            multipart/form-data: {schema: {type: object, properties: {file: {type: array, items: {type: string, format: binary}}}}}
        responses:
          200: {description: '{predictions: [{file, label, index, probability, probabilities} or {file, error}]}'}
          400: {description: no file fields}
          401: {description: 'the server has an API key and the request did not send it'}
          413: {description: body over the limit}
        """
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise BadInput("send a multipart form with one or more 'file' fields", status=400)
        files = await _files(request)
        if not files:
            raise BadInput("no 'file' fields in the form", status=400)
        small = len(files) <= 4 and sum(len(d) for _, d in files) <= INLINE_BYTES
        return JSONResponse({"predictions": await _run(small, served.predict_images, files)})

    async def openapi(request: Request) -> Response:
        return JSONResponse(schemas.get_schema(routes=request.app.routes))

    async def docs(request: Request) -> Response:
        return FileResponse(STATIC / "docs.html", media_type="text/html")

    async def on_mlpnet_error(request: Request, err: Exception) -> Response:
        status = getattr(err, "status", 422)
        if not isinstance(err, BadInput):  # ImageError, DataError: the bytes were not usable
            status = 422 if "no ink" in str(err) or "stands out" in str(err) else 400
        return _error(status, str(err))

    async def on_http_error(request: Request, err: HTTPException) -> Response:
        response = _error(err.status_code, err.detail)
        response.headers.update(err.headers or {})  # 405's Allow
        return response

    async def on_disconnect(request: Request, err: Exception) -> Response:
        return _error(400, "client disconnected")

    async def on_bug(request: Request, err: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, f"internal error: {type(err).__name__}")

    routes = [
        Route("/", index, include_in_schema=False),
        Route("/predict", predict, methods=["POST"]),
        Route("/batch_predict", batch_predict, methods=["POST"]),
        Route("/health", health),
        Route("/model", model_info),
        Route("/metrics", prometheus, include_in_schema=False),
        Route("/favicon.ico", favicon, include_in_schema=False),
        Route("/openapi.json", openapi, include_in_schema=False),
        Route("/docs", docs, include_in_schema=False),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        MlpnetError: on_mlpnet_error, HTTPException: on_http_error,
        ClientDisconnect: on_disconnect, Exception: on_bug})
    app.state.served = served
    app.state.metrics = metrics
    app.add_middleware(BodyLimit, limit=max_body)
    app.add_middleware(Ops, metrics=metrics, api_key=api_key, access_log=access_log)
    return app


def _page(kind: str) -> str:
    """The page's HTML; a tabular model's says "enter the features" where an image model's says "draw"."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    if kind == "table":
        html = (html.replace("<title>mlpnet · draw a digit</title>", "<title>mlpnet · predict from features</title>")
                .replace('<h2 id="input-title">Draw a digit</h2>', '<h2 id="input-title">Enter the features</h2>')
                .replace("draw something", "fill in the features"))
    return html


async def _run(inline: bool, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` on the event loop (``inline``: a small input), else in a thread."""
    if inline:
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


def _flag(query, name: str) -> bool:
    value = query.get(name)
    if value not in (None, "", "0", "1", "true", "false"):
        raise BadInput(f"query parameter {name}={value!r}: use 1 (or true) to ask for it, 0 (or false) not to",
                       status=400)
    return value in ("1", "true")


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadInput(f"body is not valid JSON ({err})", status=400) from None


def _rows(doc: object) -> object:
    if not isinstance(doc, dict) or "rows" not in doc:
        raise BadInput('expected a JSON object {"rows": [...]}', status=400)
    return doc["rows"]


async def _files(request: Request) -> list[tuple[str, bytes]]:
    """The uploads in the multipart field ``file``, read fully (the body limit bounds them)."""
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    except HTTPException:
        raise
    except (ValueError, KeyError) as err:
        raise BadInput(f"malformed multipart form ({err})", status=400) from None
    out = []
    try:
        for item in form.getlist("file"):
            if isinstance(item, str):
                raise BadInput("the field 'file' must be a file upload, not text", status=400)
            out.append((item.filename or "upload", await item.read()))
    finally:
        await form.close()
    return out
