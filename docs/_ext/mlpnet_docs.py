"""Sphinx directives that write mlpnet's reference pages from the code itself.

- ``mlpnet-config-table``: every config key, from :func:`mlpnet.config.schema_rows` (the same
  dataclasses that hold the defaults and validate a config, so the table cannot drift).
- ``mlpnet-openapi``: the HTTP API, from the OpenAPI document ``mlpnet serve`` itself
  publishes at ``/openapi.json`` (a tiny model is trained and served in memory to ask it).
- ``mlpnet-checkpoint-meta``: the metadata keys of a real checkpoint, written by
  ``MLPClassifier.save`` during the build, with their values.

Each directive builds reStructuredText and parses it in place, so the generated pages
are checked by the same ``-W`` build as the hand-written ones.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def _cell(text: str) -> str:
    """One line of text safe inside a list-table cell."""
    return " ".join(str(text).split()) or " "


def _literal(value) -> str:
    """A default value as the YAML a user would write, in double back-quotes."""
    if value is None:
        return "``null``"
    if isinstance(value, bool):
        return "``true``" if value else "``false``"
    if isinstance(value, (list, tuple)):
        return "``[" + ", ".join(str(v) for v in value) + "]``"
    return f"``{value}``"


def _quote_names(text: str) -> str:
    """Prose (Markdown-style, `code` in single back-quotes) as reStructuredText."""
    text = text.replace("\\", "\\\\").replace("*", "\\*").replace("|", "\\|")
    return re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)


def config_rows() -> list[dict]:
    """The config schema, one dict per dotted key (``key, type, default, allowed, help``)."""
    from mlpnet import config

    return config.schema_rows()


class ConfigTable(SphinxDirective):
    """Every config key, grouped by section: type, default, allowed values and meaning.

    A definition list rather than a table: five columns with keys as long as
    ``data.augment.interpolation`` do not fit the page width.
    """

    has_content = False

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        group = None
        for row in config_rows():
            prefix = row["key"].rpartition(".")[0]
            if prefix != group:
                group = prefix
                lines += [f".. rubric:: ``{prefix}``" if prefix else ".. rubric:: top level", ""]
            allowed = _cell(_quote_names(row["allowed"])) if row["allowed"] else "any " + row["type"]
            lines += [f"``{row['key']}``",
                      f"   {_cell(row['type'])}; default {_literal(row['default'])}; allowed: {allowed}",
                      "",
                      f"   {_cell(_quote_names(row['help']))}",
                      ""]
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(lines, source="mlpnet.config.schema_rows()"), self.content_offset, node)
        return node.children


# -- the HTTP API ----------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _tiny_checkpoint() -> tuple[str, dict]:
    """Train a 4-feature model for two epochs and save it: a real checkpoint to describe."""
    import numpy as np

    import mlpnet

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = np.where(x[:, 0] > 0, "yes", "no")
    folder = Path(tempfile.mkdtemp(prefix="mlpnet-docs-"))
    path = mlpnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(x, y).save(folder / "model.npz")
    with np.load(path, allow_pickle=False) as ck:
        meta = json.loads(str(ck["__meta__"]))
        arrays = {k: ck[k].shape for k in ck.files if k != "__meta__"}
    return str(path), {"meta": meta, "arrays": arrays}


async def _asgi_get(app, path: str) -> tuple[int, bytes]:
    """GET ``path`` from an ASGI app in memory, no server and no socket."""
    status, body = 0, b""
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message):
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80)}
    await app(scope, receive, send)
    return status, body


def openapi_document() -> dict:
    """The OpenAPI document ``mlpnet serve`` publishes, for a real (tiny) checkpoint."""
    from mlpnet.serve.app import create_app

    path, _ = _tiny_checkpoint()
    status, body = asyncio.run(_asgi_get(create_app(path), "/openapi.json"))
    if status != 200:
        raise RuntimeError(f"/openapi.json answered {status}")
    return json.loads(body)


def _schema_text(schema) -> str:
    """A compact one-line rendering of a JSON schema."""
    if not isinstance(schema, dict):
        return str(schema)
    kind = schema.get("type", "any")
    if kind == "object" and "properties" in schema:
        inner = ", ".join(f"{k}: {_schema_text(v)}" for k, v in schema["properties"].items())
        return "{" + inner + "}"
    if kind == "array" and "items" in schema:
        return f"array of {_schema_text(schema['items'])}"
    return kind + (f" ({schema['format']})" if "format" in schema else "")


def _response_text(resp) -> str:
    """What a response entry says, whatever shape the endpoint's docstring gave it."""
    if isinstance(resp, dict):
        desc = resp.get("description")
        others = [k for k in resp if k != "description"]
        parts = [str(desc)] if desc else []
        if others:
            parts.append(", ".join(others))
        return "; ".join(parts)
    return str(resp)


class OpenAPI(SphinxDirective):
    """Every path and method of the server's OpenAPI document, with bodies and responses."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        doc = openapi_document()
        lines = [f"OpenAPI {doc.get('openapi', '?')}, title ``{doc['info']['title']}``, "
                 f"version ``{doc['info']['version']}``.", ""]
        for path, methods in doc.get("paths", {}).items():
            for method, op in methods.items():
                title = f"``{method.upper()} {path}``"
                lines += [".. rubric:: " + title, ""]
                if op.get("summary"):
                    lines += [_quote_names(op["summary"]), ""]
                if op.get("description"):
                    lines += [_quote_names(" ".join(op["description"].split())), ""]
                for param in op.get("parameters", []) or []:
                    if isinstance(param, dict):
                        lines += [f"- parameter ``{param.get('name')}`` ({param.get('in')}): "
                                  f"{_quote_names(_cell(param.get('description', '')))}"]
                body = (op.get("requestBody") or {}).get("content", {})
                if body:
                    lines += ["Request body:", ""]
                    lines += [f"- ``{ctype}``: ``{_schema_text(spec.get('schema'))}``"
                              for ctype, spec in body.items()]
                    lines += [""]
                responses = op.get("responses", {})
                if responses:
                    lines += ["Responses:", ""]
                    lines += [f"- **{code}**: {_quote_names(_cell(_response_text(r)))}"
                              for code, r in responses.items()]
                    lines += [""]
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(lines, source="mlpnet serve /openapi.json"), self.content_offset, node)
        return node.children


# -- checkpoints -----------------------------------------------------------------------------

def _short(value, width: int = 70) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= width else text[:width - 3] + "..."


class CheckpointMeta(SphinxDirective):
    """The arrays and the ``__meta__`` keys of a checkpoint written during the build."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from mlpnet import checkpoint

        _, found = _tiny_checkpoint()
        lines = [f"Format ``{checkpoint.FORMAT}``, version {checkpoint.FORMAT_VERSION}. "
                 f"A 4-8-2 model saved by ``MLPClassifier.save`` during this build holds these arrays:", "",
                 ".. list-table::", "   :header-rows: 1", "", "   * - array", "     - shape"]
        for name, shape in found["arrays"].items():
            lines += [f"   * - ``{name}``", f"     - ``{tuple(shape)}``"]
        lines += ["", f"and this ``{checkpoint.META_KEY}`` JSON object (values shortened):", "",
                  ".. list-table::", "   :header-rows: 1", "", "   * - key", "     - value in that checkpoint"]
        for key, value in found["meta"].items():
            lines += [f"   * - ``{key}``", f"     - ``{_short(value)}``"]
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(lines, source="mlpnet.checkpoint"), self.content_offset, node)
        return node.children


def setup(app):
    app.add_directive("mlpnet-config-table", ConfigTable)
    app.add_directive("mlpnet-openapi", OpenAPI)
    app.add_directive("mlpnet-checkpoint-meta", CheckpointMeta)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
