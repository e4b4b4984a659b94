"""``mlpnet serve``: a Starlette app that answers images and rows over HTTP, and a drawing page.

Routes::

    GET  /               the drawing page (static/index.html; a form for tabular models)
    GET  /static/...     its CSS and JavaScript, shipped inside the package
    POST /predict        one image (multipart field ``file``, or raw bytes) or JSON rows
    POST /batch_predict  several images (multipart fields ``file``), one answer each
    GET  /health         liveness
    GET  /model          what ``mlpnet info --json`` says about the checkpoint
    GET  /openapi.json   the OpenAPI schema, built from the endpoints' docstrings
    GET  /docs           that schema as a readable page (no CDN: served from the package)

Every error is a JSON object ``{"error": "<one line>"}`` with a 4xx status; the body limit
is enforced while the body streams in (413), before the endpoint has read it all.
Inference runs in a worker thread so the event loop keeps serving other requests.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

try:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Mount, Route
    from starlette.schemas import SchemaGenerator
    from starlette.staticfiles import StaticFiles
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as err:  # the optional extra is not installed
    missing = (err.name or "starlette").split(".")[0]
    raise ImportError(f'mlpnet.serve.app needs {missing}: pip install "mlpnet[serve]"') from None

from ..errors import MlpnetError
from .model import BadInput, Served

STATIC = Path(__file__).parent / "static"
DEFAULT_MAX_BODY = 4 * 1024 * 1024
MAX_FILES = 64
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
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


def create_app(model_path: str | Path, *, max_body: int = DEFAULT_MAX_BODY) -> Starlette:
    """Build the ASGI app serving the checkpoint at ``model_path``.

    Parameters
    ----------
    model_path : path
        A checkpoint; loaded once, here (a bad file raises :class:`MlpnetError`).
    max_body : int
        Largest request body in bytes; larger ones get 413.
    """
    served = Served(model_path)
    schemas = SchemaGenerator({"openapi": "3.0.0", "info": {
        "title": "mlpnet", "version": served.description.get("mlpnet_version") or "0",
        "description": f"Predictions of {served.path} ({'-'.join(map(str, served.description['architecture']['sizes']))}, "
                       f"{served.kind} input)."}})

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def health(request: Request) -> Response:
        """
        summary: Liveness check.
        responses:
          200: {description: 'status "ok" and the model path'}
        """
        return JSONResponse({"status": "ok", "model": str(served.path)})

    async def model_info(request: Request) -> Response:
        """
        summary: The served checkpoint, as `mlpnet info --json` describes it.
        responses:
          200: {description: architecture, parameters, dataset, classes, input format, config, metrics}
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
          200: >
            Image: {label, index, probability, probabilities: {label: p}, input: {shape, png
            (base64), [pixels]}, [activations]}. Tabular: {predictions: [{label, index, probability,
            probabilities}, ...]}.
          400: {description: 'not an image, no file field, malformed JSON: {"error": ...}'}
          413: {description: body over the limit}
          422: {description: 'blank image, rows of the wrong width or non-numeric values: {"error": ...}'}
        """
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            rows = _rows(await _json(request))
            return JSONResponse({"predictions": await run_in_threadpool(served.predict_rows, rows)})
        if ctype.startswith("multipart/form-data"):
            files = await _files(request)
            if len(files) != 1:
                raise BadInput(f"expected one file in the multipart field 'file', got {len(files)}"
                               + ("; use /batch_predict for several" if files else ""), status=400)
            name, data = files[0]
        else:
            name, data = "upload", await request.body()
        q = request.query_params
        return JSONResponse(await run_in_threadpool(served.predict_image, data, name, pixels=q.get("pixels") == "1",
                                                    activations=q.get("activations") == "1"))

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
          413: {description: body over the limit}
        """
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise BadInput("send a multipart form with one or more 'file' fields", status=400)
        files = await _files(request)
        if not files:
            raise BadInput("no 'file' fields in the form", status=400)

        def answer_all() -> list[dict]:
            out = []
            for name, data in files:
                try:
                    out.append({"file": name, **served.predict_image(data, name)})
                except MlpnetError as err:
                    out.append({"file": name, "error": " ".join(str(err).split())})
            return out

        return JSONResponse({"predictions": await run_in_threadpool(answer_all)})

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
        return _error(err.status_code, err.detail)

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
        Route("/openapi.json", openapi, include_in_schema=False),
        Route("/docs", docs, include_in_schema=False),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        MlpnetError: on_mlpnet_error, HTTPException: on_http_error,
        ClientDisconnect: on_disconnect, Exception: on_bug})
    app.state.served = served
    app.add_middleware(BodyLimit, limit=max_body)
    return app


async def _json(request: Request) -> object:
    body = await request.body()
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
