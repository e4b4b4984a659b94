"""``mlpnet serve`` answers regression and multilabel models as ``mlpnet predict`` does: values in the
targets' units, label sets; the page's /model says what the model predicts."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import skip_reason
from mlpnet.cli import cli

pytest.importorskip("starlette", reason=skip_reason("starlette"))
pytest.importorskip("httpx", reason=skip_reason("httpx"))

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from mlpnet.serve.app import create_app  # noqa: E402

FAST = ["--set", "model.hidden=[16]", "--set", "train.epochs=8", "--set", "model.dropout=0"]


def _write(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def _train(tmp_path, csv, *extra):
    r = CliRunner().invoke(cli, ["train", "--set", f"data.path={csv}", *FAST, *extra, "-o", str(tmp_path / "run")])
    assert r.exit_code == 0, r.output
    return tmp_path / "run" / "best.npz"


def _predict_json(model, csv):
    r = CliRunner().invoke(cli, ["predict", str(csv), "--model", str(model), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_a_regressor_answers_values_in_the_targets_units(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y1, y2 = 50 + 10 * x[:, 0] - 4 * x[:, 1], -2 + x[:, 2]
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{c:.4f}", f"{t:.3f}", f"{u:.3f}"] for (a, b, c), t, u in zip(x, y1, y2)]
    model = _train(tmp_path, _write(tmp_path / "reg.csv", ["a", "b", "c", "price", "score"], rows),
                   "--set", "data.label_column=[price, score]")
    query = [[0.5, -1.0, 0.25], [-2.0, 0.0, 1.5]]
    want = _predict_json(model, _write(tmp_path / "q.csv", ["a", "b", "c"], query))
    client = TestClient(create_app(model))
    r = client.post("/predict", json={"rows": query})
    assert r.status_code == 200, r.text
    got = r.json()["predictions"]
    assert len(got) == 2
    for g, w in zip(got, want):
        assert set(g["values"]) == {"price", "score"}
        for name, v in g["values"].items():
            assert v == pytest.approx(w["values"][name], rel=1e-6, abs=1e-6)
    assert 30 < got[0]["values"]["price"] < 80  # user units, not standardized
    m = client.get("/model").json()
    assert m["task"] == "regression" and m["targets"] == ["price", "score"]


def test_a_multilabel_model_answers_label_sets(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(240, 3))
    a, b = (x[:, 0] > 0).astype(int), (x[:, 1] > 0).astype(int)
    c = 1 - (a | b)
    rows = [[f"{u:.3f}", f"{v:.3f}", f"{w:.3f}", p, q, s] for (u, v, w), p, q, s in zip(x, a, b, c)]
    model = _train(tmp_path, _write(tmp_path / "ml.csv", ["u", "v", "w", "red", "green", "none"], rows),
                   "--set", "data.label_column=[red, green, none]")
    query = [[2, 2, 0], [-2, -2, 0]]
    want = _predict_json(model, _write(tmp_path / "q.csv", ["u", "v", "w"], query))
    r = TestClient(create_app(model)).post("/predict", json={"rows": query})
    assert r.status_code == 200, r.text
    got = r.json()["predictions"]
    for g, w in zip(got, want):
        assert g["labels"] == w["labels"]
        assert set(g["probabilities"]) == {"red", "green", "none"}
        assert {k for k, p in g["probabilities"].items() if p > 0.5} == set(g["labels"])
