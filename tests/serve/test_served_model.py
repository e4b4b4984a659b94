"""The serving model reads its checkpoint once and answers through the model contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import skip_reason

from mlpnet import checkpoint

import trained

pytest.importorskip("starlette", reason=skip_reason("starlette"))
from mlpnet.serve.model import Served  # noqa: E402


def test_the_checkpoint_is_read_once_and_hidden_layers_come_from_the_public_api(tmp_path: Path, monkeypatch):
    path = trained.random_image_model(tmp_path / "m.npz", "relu", "softmax")
    calls = []
    real = checkpoint.load
    monkeypatch.setattr(checkpoint, "load", lambda p: calls.append(p) or real(p))
    served = Served(path)
    assert calls == [path]
    img = np.zeros((28, 28), np.uint8)
    img[8:20, 12:16] = 255
    probs, hidden = served._forward(img.reshape(1, -1), activations=True)
    ckpt = real(path)
    np.testing.assert_allclose(probs, ckpt.predict_proba(img.reshape(1, -1)), atol=1e-12)
    assert [h.shape for h in hidden] == [(1, 32), (1, 16)]
    np.testing.assert_allclose(hidden[0], ckpt.hidden(img.reshape(1, -1))[0], atol=1e-12)
    assert calls == [path]
