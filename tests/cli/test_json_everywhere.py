"""Every JSON mlpnet prints or keeps is strict (NaN and inf are null), through one helper,
``fileio.json_text``: ``info``, ``evaluate`` and ``predict --json``, ``train --log-format jsonl``,
and a sweep's ``trial.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlpnet.cli import cli
from mlpnet.sweep import results as sweep_results

from conftest import REPO, make_blobs_npz

FAST = ["--set", "data.dataset=npz", "--set", "model.hidden=[8]", "--set", "train.epochs=2"]


def _strict(text: str):
    def refuse(constant):
        raise AssertionError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A run without a validation split: its validation metrics are never measured (NaN inside)."""
    monkeypatch.chdir(tmp_path)
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=200, n_test=20)
    r = CliRunner().invoke(cli, ["train", "-o", "run", "--set", f"data.path={npz}", "--set", "data.val_size=0",
                                 "--log-format", "jsonl", *FAST])
    assert r.exit_code == 0, r.output
    rows = [_strict(line) for line in r.stdout.splitlines()]
    assert rows[0]["val_loss"] is None and rows[-1]["event"] == "test"
    return Path("run/best.npz")


def test_info_evaluate_predict_json_are_strict(run):
    d = _strict(CliRunner().invoke(cli, ["info", str(run), "--json"]).stdout)
    assert d["metrics"]["val_loss"] is None
    r = CliRunner().invoke(cli, ["evaluate", str(run), "--json"])
    assert r.exit_code == 0, r.output
    assert _strict(r.stdout)["n"] == 20
    r = CliRunner().invoke(cli, ["predict", "-m", str(run), "--json", "missing.png"])
    assert _strict(r.stdout) == [{"input": "missing.png", "error": "missing.png: no such file"}]


def test_a_sweep_trial_record_with_a_nan_metric_is_strict_and_reads_back(tmp_path):
    rec = sweep_results.TrialResult(1, {"optimizer.lr": 10.0}, status="failed", metric=float("nan"),
                                    error="val_accuracy was never finite")
    sweep_results.write_record(tmp_path, rec)
    assert _strict((tmp_path / "trial-001" / "trial.json").read_text())["metric"] is None
    assert sweep_results.read_record(tmp_path, 1).status == "failed"


def test_no_command_writes_json_but_through_json_text():
    """One helper: no ``json.dumps`` in the CLI, and every module with ``--json`` prints with json_text."""
    for f in sorted((REPO / "mlpnet" / "cli").glob("*.py")):
        text = f.read_text()
        assert "json.dumps" not in text, f.name
        if re.search(r"json_option|--json|log_format", text) and f.name not in ("options.py", "train.py"):
            assert "json_text(" in text, f.name
