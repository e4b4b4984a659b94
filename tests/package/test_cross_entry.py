"""Every entry point answers the same raw inputs with the same probabilities (to 1e-6).

``mlpnet predict``, :func:`mlpnet.load`, a fitted ``MLPClassifier``, ``POST /predict`` and
the exported ONNX graph all load through :func:`mlpnet.checkpoint.load` and transform raw
inputs with :meth:`mlpnet.data.spec.InputSpec.to_network`; this test is what keeps them so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import mlpnet
from mlpnet import checkpoint
from mlpnet.cli import cli
from mlpnet.data import images
from mlpnet.data.spec import encode_rows

from conftest import draw_shape, skip_reason

ort = pytest.importorskip("onnxruntime", reason=skip_reason("onnxruntime"))
pytest.importorskip("onnx", reason=skip_reason("onnx"))
pytest.importorskip("httpx", reason="httpx (for Starlette's TestClient) is not installed")
pytest.importorskip("starlette", reason=skip_reason("starlette"))
from starlette.testclient import TestClient  # noqa: E402

from mlpnet.export.onnx import export  # noqa: E402
from mlpnet.serve.app import create_app  # noqa: E402

ATOL = 1e-6
TABLE = "colour,size,weight,kind\n"


def _cli_probs(path: Path, inputs: list[str], n_classes: int) -> np.ndarray:
    r = CliRunner().invoke(cli, ["predict", *inputs, "--model", str(path), "--top-k", str(n_classes), "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)  # notes go to stderr
    p = np.zeros((len(rows), n_classes))
    for i, row in enumerate(rows):
        for t in row["top_k"]:
            p[i, t["index"]] = t["probability"]
    return p


def _served(path: Path, classes: list[str], **request) -> np.ndarray:
    with TestClient(create_app(path)) as client:
        r = client.post("/predict", **request)
    assert r.status_code == 200, r.text
    body = r.json()
    answers = body["predictions"] if "predictions" in body else [body]
    return np.array([[a["probabilities"][c] for c in classes] for a in answers])


def _onnx(path: Path, out: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(export(path, out)), providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"input": np.asarray(x, np.float32)})[0]


def test_image_model_same_probabilities_everywhere(tmp_path):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 4, 300)
    clf = mlpnet.MLPClassifier(hidden=(24,), epochs=3, random_state=0).fit(
        np.stack([draw_shape(int(k), rng) for k in y]), y)
    path = clf.save(tmp_path / "image.npz")
    files = []
    for i, k in enumerate((0, 1, 2, 3)):
        files.append(tmp_path / f"probe{i}.png")
        Image.fromarray(draw_shape(k, rng)).save(files[-1])
    # The network image of each file: the decoder every entry point runs first (the ONNX graph
    # leaves photo preprocessing to the caller).
    spec = checkpoint.load(path).input
    pixels = np.stack([spec.image(images.load_image(f), name=str(f)) for f in files])

    want = mlpnet.load(path).predict_proba(pixels)
    assert want.shape == (4, 4) and np.allclose(want.sum(axis=1), 1)
    got = {
        "mlpnet predict": _cli_probs(path, [str(f) for f in files], 4),
        "mlpnet.load images": mlpnet.load(path).predict_images_proba([str(f) for f in files]),
        "MLPClassifier": clf.predict_proba(pixels),
        "MLPClassifier images": clf.predict_images_proba([str(f) for f in files]),
        "MLPClassifier flat": clf.predict_proba(pixels.reshape(4, -1)),
        "POST /predict": np.concatenate([
            _served(path, ["0", "1", "2", "3"], files={"file": (f.name, f.read_bytes(), "image/png")}) for f in files]),
        "ONNX": _onnx(path, tmp_path / "image.onnx", pixels.reshape(4, -1)),
    }
    for name, probs in got.items():
        np.testing.assert_allclose(probs, want, atol=ATOL, err_msg=name)


def _table_csv(path: Path, n: int, rng: np.random.Generator, label: bool = True) -> Path:
    lines = [TABLE if label else TABLE.replace(",kind", "")]
    for _ in range(n):
        k = int(rng.integers(0, 3))
        colour = ["red", "green", "blue"][k] if rng.random() < 0.85 else ""
        size = f"{10 + 4 * k + rng.normal():.3f}" if rng.random() > 0.1 else "NA"
        weight = f"{100 * (1 + k) + 25 * rng.normal():.2f}" if rng.random() > 0.1 else ""
        lines.append(f"{colour},{size},{weight}" + (f",{['apple', 'pear', 'plum'][k]}\n" if label else "\n"))
    path.write_text("".join(lines))
    return path


def test_table_model_with_words_and_missing_values_same_probabilities_everywhere(tmp_path):
    rng = np.random.default_rng(6)
    train = _table_csv(tmp_path / "train.csv", 300, rng)
    r = CliRunner().invoke(cli, ["train", "-o", str(tmp_path / "run"), "--no-progress",
                                 "--set", "data.dataset=csv", "--set", f"data.path={train}",
                                 "--set", "data.label_column=kind", "--set", "data.missing=mean",
                                 "--set", "model.hidden=[8]", "--set", "train.epochs=4", "--set", "seed=1"])
    assert r.exit_code == 0, r.output
    path = tmp_path / "run" / "best.npz"
    probe = _table_csv(tmp_path / "probe.csv", 6, rng, label=False)
    cells = [line.split(",") for line in probe.read_text().splitlines()[1:]]
    cells[0] = ["", "12.5", ""]  # a missing word and a missing number in one row
    probe.write_text("colour,size,weight\n" + "".join(",".join(c) + "\n" for c in cells))
    as_json = [[None if v in ("", "NA") else (v if i == 0 else float(v)) for i, v in enumerate(c)] for c in cells]

    loaded = mlpnet.load(path)
    want = loaded.predict_proba(cells)
    assert want.shape == (6, 3) and np.allclose(want.sum(axis=1), 1)
    spec = checkpoint.load(path).input
    assert spec.kind == "table" and any(c.get("categories") for c in spec.csv["columns"])
    got = {
        "mlpnet predict": _cli_probs(path, [str(probe)], 3),
        "mlpnet.load JSON-style cells": loaded.predict_proba(as_json),
        "mlpnet.load mappings": loaded.predict_proba([dict(zip(["colour", "size", "weight"], c)) for c in as_json]),
        "POST /predict": _served(path, ["apple", "pear", "plum"], json={"rows": as_json}),
        # The graph reads the network's features: words one-hot and blanks NaN, as the schema encodes them.
        "ONNX": _onnx(path, tmp_path / "table.onnx", encode_rows(cells, spec.csv)),
    }
    pd = pytest.importorskip("pandas", reason=skip_reason("pandas"))
    got["MLPClassifier DataFrame"] = loaded.predict_proba(pd.read_csv(probe, keep_default_na=True))
    for name, probs in got.items():
        np.testing.assert_allclose(probs, want, atol=ATOL, err_msg=name)
