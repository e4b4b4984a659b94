"""A checkpoint loaded once for serving: answers images and rows as ``mlpnet predict`` does.

The checkpoint is read once; answers go through its input spec,
:meth:`~mlpnet.checkpoint.Checkpoint.outputs` and :meth:`~mlpnet.checkpoint.Checkpoint.to_user`
(class, label set or values, by the model's task), as in ``mlpnet predict`` and
:func:`mlpnet.load` (images first through :meth:`~mlpnet.data.spec.InputSpec.image`). Only
NumPy and Pillow here; the web layer (:mod:`mlpnet.serve.app`) calls these methods on its
event loop for small inputs, or from worker threads for large ones. Preprocessing is
thread-safe; the forward pass reuses the network's buffers, so it runs under a lock (it
takes well under a millisecond for one digit).
"""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from .. import checkpoint, info
from ..data import images
from ..data.spec import encode_rows
from ..errors import DataError, MlpnetError
from ..fileio import json_ready


class BadInput(MlpnetError):
    """A request the model cannot answer: the message is one line for the client."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


class Served:
    """A checkpoint ready to answer requests.

    Parameters
    ----------
    path : path
        The checkpoint; its recorded input format decides the preprocessing.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.checkpoint = checkpoint.load(self.path)  # the one read of the file
        self.description = json_ready(_public(info.describe_checkpoint(self.checkpoint, self.path.name)))
        self.input = self.checkpoint.input
        self.classes: list[str] = list(self.checkpoint.classes)
        self.kind = self.input.kind
        self.schema = self.input.csv if self.kind == "table" else None
        # The form and the rows use the CSV file's own columns (before one-hot encoding).
        self.features: list[str] = self.input.columns
        self._lock = threading.Lock()
        self.observe_batch: Callable[[int], None] = lambda n: None
        """Told the number of inputs of every forward pass (the server's batch-size metric)."""

    # -- answers -------------------------------------------------------------------------

    def answer(self, out: np.ndarray) -> dict:
        """The answer to one row of network outputs ``(k,)``, by the model's task.

        classification: ``{label, index, probability, probabilities: {label: p}}``;
        multilabel: ``{labels: [...], probabilities: {label: p}}`` (the labels over 0.5);
        regression: ``{values: {target: value}}`` in the targets' own units. The labels and
        values come from :meth:`~mlpnet.checkpoint.Checkpoint.answers`, as in ``mlpnet predict``.
        """
        if self.checkpoint.task != "classification":
            return self.checkpoint.answers(out[None])[0]
        i = int(np.argmax(out))
        return {"label": self.classes[i], "index": i, "probability": float(out[i]),
                "probabilities": {c: float(p) for c, p in zip(self.classes, out)}}

    def _forward(self, x, activations: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Network outputs for raw rows ``x`` (see :meth:`answer`) and, if asked, each hidden layer's values."""
        self.observe_batch(len(x))
        with self._lock:
            out = self.checkpoint.outputs(x)
            hidden = self.checkpoint.hidden(x) if activations else []
        return out, hidden

    def predict_image(self, data: bytes, name: str = "upload", *, pixels: bool = False,
                      activations: bool = False) -> dict:
        """Decode, preprocess and classify one uploaded image.

        Returns the answer plus ``input``: the network's input as a base64 PNG (and, with
        ``pixels``, as a flat list of uint8 values), and with ``activations`` each hidden
        layer's values scaled by its largest magnitude (so within [-1, 1]).
        """
        img = self._image(data, name)
        probs, hidden = self._forward(img.reshape(1, -1), activations)
        return self._image_answer(img, probs[0], [h[0] for h in hidden], pixels)

    def predict_images(self, files: list[tuple[str, bytes]]) -> list[dict]:
        """``{file, ...answer}`` or ``{file, error}`` for each ``(name, bytes)``.

        One forward pass per image, as /predict does: a batch's BLAS kernels round differently
        in the last bits, and the answers are to be the same whichever endpoint is asked.
        """
        out = []
        for name, data in files:
            try:
                out.append({"file": name, **self.predict_image(data, name)})
            except MlpnetError as err:
                out.append({"file": name, "error": " ".join(str(err).split())})
        return out

    def _image(self, data: bytes, name: str) -> np.ndarray:
        if self.kind == "table":
            raise BadInput(f"this model reads rows of {len(self.features)} features, not images; "
                           'send JSON {"rows": [[...]]}')
        return self.input.image(images.load_image_bytes(data, name), name=name)

    def _image_answer(self, img: np.ndarray, probs: np.ndarray, hidden: list[np.ndarray] | None = None,
                      pixels: bool = False) -> dict:
        out = self.answer(probs)
        png = io.BytesIO()
        Image.fromarray(img).save(png, format="PNG", compress_level=1)
        out["input"] = {"shape": list(img.shape), "png": base64.b64encode(png.getvalue()).decode("ascii")}
        if pixels:
            out["input"]["pixels"] = img.reshape(-1).tolist()
        if hidden:
            out["activations"] = [_unit_scale(h) for h in hidden]
        return out

    def predict_rows(self, rows: object) -> list[dict]:
        """Classify rows: a tabular model's (lists of values in column order, or objects keyed by
        column name), or an image model's network images as flat lists of pixels 0-255 (as
        ``mlpnet predict`` reads a CSV of 784 pixel columns: no preprocessing)."""
        if not isinstance(rows, list) or not rows:
            raise BadInput('"rows" must be a non-empty list of rows')
        if self.kind != "table":
            probs, _ = self._forward(_pixels(rows, self.input.n_inputs, self.input.image_shape))
            return [self.answer(p) for p in probs]
        try:
            # Raw cells (numbers, words, null) go through the model's input transform, as in mlpnet predict.
            probs, _ = self._forward(rows if self.schema else _numbers(rows, self.features))
        except (DataError, ValueError) as err:
            raise BadInput(str(err)) from None
        return [self.answer(p) for p in probs]


def _public(description: dict) -> dict:
    """``mlpnet info --json`` for clients: file names only, no folders of the server's disk."""
    d = dict(description)
    if d.get("data_path"):
        d["data_path"] = Path(d["data_path"]).name
    data = (d.get("config") or {}).get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        d["config"] = {**d["config"], "data": {**data, "path": Path(data["path"]).name}}
    return d


def _pixels(rows: list, width: int, shape: tuple[int, ...]) -> np.ndarray:
    """An image model's rows ``(n, width)`` of uint8 from JSON lists of integers 0-255."""
    shown = "x".join(map(str, shape))
    try:
        x = np.asarray(rows)
    except ValueError:  # rows of different lengths
        x = np.empty(0)
    if x.ndim != 2 or x.shape[1] != width or x.dtype.kind not in "iuf":
        raise BadInput(f"this model reads {shown} images: send an image file, or JSON rows of {width} pixel "
                       "values 0-255 each")
    if x.size and (x.min() < 0 or x.max() > 255 or (x.dtype.kind == "f" and not np.array_equal(x, np.round(x)))):
        raise BadInput(f"pixel values must be integers in 0..255, found {x.min():g}..{x.max():g}")
    return x.astype(np.uint8)


def _numbers(rows: list, features: list[str]) -> np.ndarray:
    """Rows of a model trained from arrays: numbers only, checked cell by cell (one clear error)."""
    return encode_rows(rows, {"columns": [{"name": f} for f in features], "missing": "error"})


def _unit_scale(h: np.ndarray) -> list[float]:
    top = float(np.max(np.abs(h))) if h.size else 0.0
    return np.round(h / top if top > 0 else h, 3).tolist()

