"""``mlpnet predict --json``'s contract: one entry per answer and one ``{"input", "error"}`` per input
that failed, in the inputs' order, nothing else on stdout, and exit status 1 when any failed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mlpnet.cli import cli

from conftest import make_blobs_npz

FAST = ["--set", "data.dataset=npz", "--set", "model.hidden=[8]", "--set", "train.epochs=1",
        "--set", "data.val_size=50"]


@pytest.fixture
def model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=200, n_test=20)
    assert CliRunner().invoke(cli, ["train", "-o", "run", "--set", f"data.path={npz}", *FAST]).exit_code == 0
    with np.load(npz) as f:
        Image.fromarray(f["x_test"][0]).save("a.png")
        Image.fromarray(f["x_test"][1]).save("b.png")
    Path("empty").mkdir()
    Path("text.png").write_text("not an image")
    return "run/best.npz"


def _strict(text: str):
    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_one_entry_per_input_failures_in_place(model):
    r = CliRunner().invoke(cli, ["predict", "-m", model, "--json",
                                 "a.png", "missing.png", "empty", "text.png", "nomatch*.png", "b.png"])
    assert r.exit_code == 1
    entries = _strict(r.stdout)  # the whole of stdout is one JSON document
    assert [e.get("file") or e["input"] for e in entries] == \
        ["a.png", "missing.png", "empty", "text.png", "nomatch*.png", "b.png"]
    failed = [e for e in entries if "error" in e]
    assert [set(e) for e in failed] == [{"input", "error"}] * 4
    assert all("\n" not in e["error"] and e["error"].startswith(e["input"]) for e in failed)
    assert {"index", "label", "probability", "top_k"} <= set(entries[0]) and "error" not in entries[-1]
    assert "error: 4 input(s) could not be predicted, 2 answer(s) given" in r.stderr


def test_all_inputs_fine_exit_zero(model):
    r = CliRunner().invoke(cli, ["predict", "-m", model, "--json", "a.png", "b.png"])
    assert r.exit_code == 0, r.output
    assert [e["file"] for e in _strict(r.stdout)] == ["a.png", "b.png"]


def test_a_failure_before_any_input_prints_nothing_on_stdout(model):
    r = CliRunner().invoke(cli, ["predict", "-m", "nothere.npz", "--json", "a.png"])
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "nothere.npz" in r.stderr
