"""A checkpoint loaded once for serving: answers images and rows as ``mlpnet predict`` does.

The model is :func:`mlpnet.load`'s fitted classifier (raw inputs in, the stored input
transform applied); images go through :func:`mlpnet.data.images.network_image` first,
the decoder behind ``mlpnet predict``. Only NumPy and Pillow here; the web layer
(:mod:`mlpnet.serve.app`) calls these methods from worker threads. Preprocessing is
thread-safe; the forward pass reuses the network's buffers, so it runs under a lock (it
takes well under a millisecond for one digit, while preprocessing runs in parallel).
"""

from __future__ import annotations

import warnings

import base64
import io
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from .. import info
from ..data import images
from ..data.csv import encode_rows, raw_columns
from ..errors import DataError, MlpnetError
from ..estimator import load


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
        self.clf = load(self.path)
        self.description = info.describe(self.path)
        self.input = self.clf.input_
        self.classes: list[str] = list(self.description["classes"])
        self.kind = "tabular" if self.input.get("kind") == "tabular" else "image"
        self.schema = self.input.get("csv") if self.kind == "tabular" else None
        # The form and the rows use the CSV file's own columns (before one-hot encoding).
        self.features: list[str] = raw_columns(self.schema) if self.schema else list(self.input.get("features", []))
        self._numeric_schema = {"columns": [{"name": f} for f in self.features], "missing": "error"}
        self._lock = threading.Lock()

    # -- answers -------------------------------------------------------------------------

    def answer(self, probs: np.ndarray) -> dict:
        """``{label, index, probability, probabilities: {label: p}}`` for one row of outputs."""
        i = int(np.argmax(probs))
        return {"label": self.classes[i], "index": i, "probability": float(probs[i]),
                "probabilities": {c: float(p) for c, p in zip(self.classes, probs)}}

    def _forward(self, x: np.ndarray, activations: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
        """Probabilities for raw rows ``x (n, n_features)`` and, if asked, each hidden layer's values."""
        with self._lock, warnings.catch_warnings():
            # The rows are already in the model's column order (self.features): no names to check.
            warnings.filterwarnings("ignore", "X does not have valid feature names", UserWarning)
            probs = self.clf.predict_proba(x)
            hidden = []
            if activations and self.kind == "image":
                net = self.clf.model_
                net.forward(np.ascontiguousarray(x, net.dtype) / net.dtype.type(255))
                hidden = [net._ws.z[i][:len(x)].copy() for i in range(net.n_layers - 1)]  # (n, width) each
        return probs, hidden

    def predict_image(self, data: bytes, name: str = "upload", *, pixels: bool = False,
                      activations: bool = False) -> dict:
        """Decode, preprocess and classify one uploaded image.

        Returns the answer plus ``input``: the network's input as a base64 PNG (and, with
        ``pixels``, as a flat list of uint8 values), and with ``activations`` each hidden
        layer's values scaled by its largest magnitude (so within [-1, 1]).
        """
        if self.kind == "tabular":
            raise BadInput(f"this model reads rows of {len(self.features)} features, not images; "
                           'send JSON {"rows": [[...]]}')
        img = images.network_image(images.load_image_bytes(data, name), self.input, name=name)
        probs, hidden = self._forward(img.reshape(1, -1), activations)
        out = self.answer(probs[0])
        png = io.BytesIO()
        Image.fromarray(img).save(png, format="PNG", compress_level=1)
        out["input"] = {"shape": list(img.shape), "png": base64.b64encode(png.getvalue()).decode("ascii")}
        if pixels:
            out["input"]["pixels"] = img.reshape(-1).tolist()
        if activations:
            out["activations"] = [_unit_scale(h[0]) for h in hidden]
        return out

    def predict_rows(self, rows: object) -> list[dict]:
        """Classify tabular rows: lists of values in column order, or objects keyed by column name."""
        if self.kind != "tabular":
            raise BadInput("this model reads images; send an image file (multipart field 'file') or raw image bytes")
        if not isinstance(rows, list) or not rows:
            raise BadInput('"rows" must be a non-empty list of rows')
        try:
            # A CSV model encodes raw cells (numbers, words, null) itself, as mlpnet predict does;
            # a model trained from arrays takes numbers, checked by the same encoder.
            probs, _ = self._forward(rows if self.schema else encode_rows(rows, self._numeric_schema))
        except (DataError, ValueError) as err:
            raise BadInput(str(err)) from None
        return [self.answer(p) for p in probs]


def _unit_scale(h: np.ndarray) -> list[float]:
    top = float(np.max(np.abs(h))) if h.size else 0.0
    return np.round(h / top if top > 0 else h, 3).tolist()

