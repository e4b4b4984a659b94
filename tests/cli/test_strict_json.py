"""Every ``--json`` output is strict JSON (a metric never measured is null, never a bare NaN), and
``mlpnet info`` names the metric a Python-saved model's "best" entry really holds."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import mlpnet
from mlpnet.cli import cli
from mlpnet.fileio import json_text


def _strict(text: str):
    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_json_text_writes_null_for_non_finite_numbers_of_any_type():
    doc = {"a": float("nan"), "b": [np.float32("inf"), -np.inf], "c": np.array([1.5, np.nan]), "d": np.int64(3)}
    assert _strict(json_text(doc)) == {"a": None, "b": [None, None], "c": [1.5, None], "d": 3}


@pytest.fixture(scope="module")
def python_models(tmp_path_factory):
    d = tmp_path_factory.mktemp("py")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in 20 iterations: fine here
        mlpnet.MLPClassifier(random_state=0, max_iter=20).fit(X, y).save(d / "plain.npz")
        mlpnet.MLPClassifier(random_state=0, max_iter=20, early_stopping=True).fit(X, y).save(d / "early.npz")
    rows = d / "rows.csv"
    rows.write_text("x0,x1,x2,x3\n" + "\n".join(",".join(f"{v:.3f}" for v in r) for r in X[:5]) + "\n")
    return d / "plain.npz", d / "early.npz", rows


def test_info_and_predict_json_of_a_model_without_validation_are_strict(python_models):
    plain, _, rows = python_models
    r = CliRunner().invoke(cli, ["info", "--json", str(plain)])
    assert r.exit_code == 0, r.output
    d = _strict(r.stdout)
    assert d["metrics"]["val_loss"] is None  # never measured: null
    r = CliRunner().invoke(cli, ["predict", str(rows), "--model", str(plain), "--json"])
    assert r.exit_code == 0, r.output
    assert len(_strict(r.stdout)) == 5


def test_info_names_the_training_loss_or_the_validation_score(python_models):
    plain, early, _ = python_models
    out = CliRunner().invoke(cli, ["info", str(plain)]).output
    best = next(line for line in out.splitlines() if line.startswith("best"))
    assert "train_loss" in best and "val_loss" not in best
    out = CliRunner().invoke(cli, ["info", str(early)]).output
    best = next(line for line in out.splitlines() if line.startswith("best"))
    assert "val_score" in best
