"""Issue 18, the CLI's smaller points: one spelling per option kind, errors that say what was meant."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from mlpnet.cli import cli

from conftest import REPO, make_blobs_npz, skip_reason

COMMANDS = dict(cli.commands)
FAST = ["--set", "data.dataset=npz", "--set", "model.hidden=[8]", "--set", "train.epochs=1",
        "--set", "data.val_size=50"]


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def _options(name: str) -> dict[str, click.Option]:
    return {p.name: p for p in COMMANDS[name].params if isinstance(p, click.Option)}


def test_info_prints_no_none_for_a_model_saved_from_python(runner, tmp_path):
    from mlpnet import MLPClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    MLPClassifier(hidden=(4,), epochs=2, random_state=0).fit(x, (x[:, 0] > 0).astype(int)).save("py.npz")
    r = runner.invoke(cli, ["info", "py.npz"])
    assert r.exit_code == 0, r.output
    assert "None" not in r.output, r.output
    assert "weights only" in r.output


def test_train_c_checkpoint_says_it_is_a_checkpoint(runner, tmp_path):
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=200, n_test=20)
    assert runner.invoke(cli, ["train", "-o", "run", "--set", f"data.path={npz}", *FAST]).exit_code == 0
    r = runner.invoke(cli, ["train", "-c", "run/best.npz"])
    assert r.exit_code == 2
    line = r.output.strip().splitlines()[-1]
    assert line == ("error: run/best.npz: is a checkpoint, not a YAML config (did you mean --resume run/last.npz? "
                    "a run continues from its last.npz)"), r.output
    assert "UTF-8" not in r.output and "codec" not in r.output


def test_config_file_typo_gets_did_you_mean(runner, monkeypatch):
    monkeypatch.chdir(REPO)
    r = runner.invoke(cli, ["train", "-c", "configs/mnist.yml", "--print-config"])
    assert r.exit_code == 2
    assert "configs/mnist.yml: no such config file (did you mean configs/mnist.yaml?)" in r.output


def test_set_hidden_comma_list_shows_as_list(runner):
    r = runner.invoke(cli, ["train", "--set", "model.hidden=256,128", "--print-config"])
    assert r.exit_code == 0, r.output
    assert "hidden: [256, 128]" in r.output
    r = runner.invoke(cli, ["train", "--set", "model.hidden=256", "--print-config"])
    assert r.exit_code == 2 and "(write a list, e.g. [256])" in r.output


@pytest.mark.parametrize("name", ["evaluate", "predict", "serve", "info", "export"])
def test_every_command_reads_its_checkpoint_with_dash_m_model(name):
    opt = _options(name)["model_path"]
    assert sorted(opt.opts) == ["--model", "-m"]
    assert opt.help.endswith("[default: runs/latest/best.npz]")


@pytest.mark.parametrize("name", ["info", "export"])
def test_old_positional_checkpoint_still_works(runner, tmp_path, name):
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=200, n_test=20)
    assert runner.invoke(cli, ["train", "-o", "run", "--set", f"data.path={npz}", *FAST]).exit_code == 0
    if name == "export":
        pytest.importorskip("onnx", reason=skip_reason("onnx"))
    args = ["-o", "a.onnx"] if name == "export" else []
    r1 = runner.invoke(cli, [name, "run/best.npz", *args])
    args = ["-o", "b.onnx"] if name == "export" else []
    r2 = runner.invoke(cli, [name, "-m", "run/best.npz", *args])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    if name == "info":
        assert r1.output == r2.output
    r3 = runner.invoke(cli, [name, "run/last.npz", "--model", "run/best.npz"])
    assert r3.exit_code == 2 and "two checkpoints given" in r3.output


@pytest.mark.parametrize("name", ["train", "sweep", "predict", "export", "evaluate"])
def test_every_output_is_dash_o_output(name):
    opt = _options(name)["output"]
    assert "-o" in opt.opts and "--output" in opt.opts


def test_old_out_spelling_still_works(runner, tmp_path):
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=200, n_test=20)
    r = runner.invoke(cli, ["train", "--out", "old", "--set", f"data.path={npz}", *FAST])
    assert r.exit_code == 0, r.output
    assert Path("old/best.npz").exists()
    assert "warning: --out is deprecated; use -o/--output" in r.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_defaults_are_shown_one_way_in_help(name):
    """Every default reads ``[default: ...]`` at the end of its option's help, nowhere else."""
    for opt in _options(name).values():
        text = opt.help or ""
        if "default" not in text.lower():
            continue
        assert not opt.show_default, (name, opt.name, "two defaults")
        head, sep, tail = text.rpartition("[default: ")
        assert sep and tail.endswith("]") and "default" not in head.lower(), (name, opt.name, text)
        assert head.endswith(".  "), (name, opt.name, text)


def test_predict_json_that_fails_never_prints_an_empty_array(tmp_path, monkeypatch):
    """A command that fails before reading inputs prints nothing on stdout; an input that fails is an
    error entry (never "[]", which reads as "nothing to say")."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=200, n_test=20)
    assert runner.invoke(cli, ["train", "-o", "run", "--set", f"data.path={npz}", *FAST]).exit_code == 0
    r = runner.invoke(cli, ["predict", "-m", "nothere.npz", "missing.png", "--json"])
    assert r.exit_code == 1 and r.stdout == "" and "nothere.npz" in r.stderr
    r = runner.invoke(cli, ["predict", "-m", "run/best.npz", "missing.png", "--json"])
    assert r.exit_code == 1
    assert json.loads(r.stdout) == [{"input": "missing.png", "error": "missing.png: no such file"}]
    assert "missing.png" in r.stderr


def test_resume_help_names_exactly_the_resumable_keys():
    """``--help`` does not import the trainer (it stays fast), so its list is tested against the one policy."""
    import re

    from mlpnet.train.loop import RESUMABLE_KEYS

    text = _options("train")["resume"].help
    assert sorted(k for k in re.findall(r"[a-z_]+\.[a-z_]+", text) if k != "last.npz") == sorted(RESUMABLE_KEYS)
