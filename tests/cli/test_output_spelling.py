"""One spelling for what a command writes: ``-o/--output`` in every command, the earlier ones
(``--out``, evaluate's ``--plots``) hidden and deprecated; the help texts say what really happens."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mlpnet.cli import cli

from conftest import make_blobs_npz, skip_reason

FAST = ["--set", "data.dataset=npz", "--set", "model.hidden=[8]", "--set", "train.epochs=1",
        "--set", "data.val_size=50"]
OLD = {"train": "--out", "sweep": "--out", "evaluate": "--plots"}


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=200, n_test=20)
    r = CliRunner().invoke(cli, ["train", "-o", "run", "--set", f"data.path={npz}", *FAST])
    assert r.exit_code == 0, r.output
    return Path("run/best.npz")


@pytest.mark.parametrize("name", sorted(OLD))
def test_old_spellings_are_hidden_from_help(name):
    text = CliRunner().invoke(cli, [name, "--help"]).output
    assert "-o, --output" in text
    assert OLD[name] not in text.replace("--output", "")


def test_evaluate_writes_its_plots_with_dash_o(run):
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    r = CliRunner().invoke(cli, ["evaluate", str(run), "-o", "plots"])
    assert r.exit_code == 0, r.output
    assert Path("plots/confusion_matrix.png").exists()
    assert "deprecated" not in r.stderr


def test_evaluate_plots_still_works_with_a_warning(run):
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    r = CliRunner().invoke(cli, ["evaluate", str(run), "--plots", "old"])
    assert r.exit_code == 0, r.output
    assert Path("old/confusion_matrix.png").exists()
    assert "warning: --plots is deprecated; use -o/--output" in r.stderr


def test_two_different_outputs_are_refused_in_one_line(run):
    r = CliRunner().invoke(cli, ["evaluate", str(run), "-o", "a", "--plots", "b"])
    assert r.exit_code == 2
    errors = [line for line in r.stderr.splitlines() if line.startswith("error")]
    assert errors == ["error: two outputs given (-o a and --plots b); name one"]
    assert not Path("a").exists() and not Path("b").exists()


def test_train_output_help_says_where_the_run_name_comes_from(tmp_path, monkeypatch):
    """The help says: the name key, else data.path's stem, else the config file's, else the dataset."""
    monkeypatch.chdir(tmp_path)
    opt = next(p for p in cli.commands["train"].params if isinstance(p, click.Option) and p.name == "output")
    assert "the name key, else the stem of data.path, else of the config file, else the dataset" in opt.help
    Path("my-config.yaml").write_text("seed: 1\n")
    Path("named.yaml").write_text("name: chosen\n")
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=20, n_test=5)

    def name(*args):
        r = CliRunner().invoke(cli, ["train", *args, "--print-config"])
        assert r.exit_code == 0, r.output
        return next(line for line in r.stdout.splitlines() if line.startswith("name:")).split(": ", 1)[1]

    assert name("-c", "named.yaml", "--set", f"data.path={npz}") == "chosen"
    assert name("-c", "my-config.yaml", "--set", "data.dataset=npz", "--set", f"data.path={npz}") == "blobs"
    assert name("-c", "my-config.yaml") == "my-config"
    assert name("--set", "data.dataset=fashion-mnist") == "fashion-mnist"
