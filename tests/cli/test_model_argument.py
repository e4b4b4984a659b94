"""One rule for naming the model: ``-m/--model`` everywhere, and the first positional argument in every
command that has no other (all but ``predict``, whose positionals are its inputs)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import trained
from mlpnet.cli import cli

POSITIONAL = ["evaluate", "info", "export", "serve"]


@pytest.mark.parametrize("command", [*POSITIONAL, "predict"])
def test_every_command_takes_dash_m(command):
    help_text = CliRunner().invoke(cli, [command, "--help"]).output
    assert "-m, --model" in help_text


@pytest.mark.parametrize("command", POSITIONAL)
def test_commands_without_other_positionals_take_the_model_first(command):
    assert f" {command} [OPTIONS] [MODEL]\n" in CliRunner().invoke(cli, [command, "--help"]).output


@pytest.mark.parametrize("command", POSITIONAL)
def test_two_different_models_are_refused_in_one_line(command, tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    r = CliRunner().invoke(cli, [command, str(a), "-m", str(b)])
    assert r.exit_code != 0
    assert r.output.strip().splitlines() == [f"error: two checkpoints given ({a} and --model {b}); name one"]


def test_evaluate_by_position_is_evaluate_by_option(tmp_path):
    ckpt = trained.train_tabular(tmp_path)
    by_position = CliRunner().invoke(cli, ["evaluate", str(ckpt), "--json"])
    by_option = CliRunner().invoke(cli, ["evaluate", "-m", str(ckpt), "--json"])
    assert by_position.exit_code == 0, by_position.output
    assert by_position.stdout == by_option.stdout
