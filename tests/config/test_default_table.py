"""Issue 18 point 3 / issue 19 point 3: one default table, read by no config, a partial config and the docs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from click.testing import CliRunner

from mlpnet import checkpoint, config
from mlpnet.cli import cli

from conftest import REPO, make_blobs_npz


def _without_name(cfg: config.Config) -> dict:
    d = cfg.to_dict()
    d.pop("name")
    return d


def test_partial_config_fills_builtin_defaults(tmp_path):
    partial = tmp_path / "partial.yaml"
    partial.write_text("seed: 0\n")
    assert _without_name(config.load(partial)) == _without_name(config.load(None))
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert _without_name(config.load(empty)) == _without_name(config.load(None))


def test_no_config_and_seed_only_config_train_the_same_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=300, n_test=60)
    partial = tmp_path / "partial.yaml"
    partial.write_text("seed: 0\n")
    sets = ["--set", "data.dataset=npz", "--set", f"data.path={npz}", "--set", "model.hidden=[8]",
            "--set", "train.min_steps=60"]
    r1 = CliRunner().invoke(cli, ["train", "-o", "a", *sets])
    r2 = CliRunner().invoke(cli, ["train", "-c", str(partial), "-o", "b", *sets])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    a, b = checkpoint.load(Path("a/last.npz")), checkpoint.load(Path("b/last.npz"))
    assert np.array_equal(a.model.params, b.model.params)
    ca, cb = dict(a.meta.config), dict(b.meta.config)
    ca.pop("name"), cb.pop("name")
    assert ca == cb


def test_there_is_no_second_default_file():
    assert not (REPO / "mlpnet" / "configs").exists()
    assert not hasattr(config, "BUILTIN_DEFAULT")


def test_print_config_shows_the_defaults_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["train", "--print-config"])
    assert r.exit_code == 0, r.output
    shown = yaml.safe_load(r.output)
    rows = {row["key"]: row["default"] for row in config.schema_rows()}
    for key, default in rows.items():
        node = shown
        for part in key.split("."):
            node = node[part]
        if key != "name":  # the run name is derived from the data
            assert node == default, key


def test_csv_options_defaults_are_the_config_defaults():
    """data/ sits below config/ (it cannot import the table), so its CSV defaults are tested equal to it."""
    from dataclasses import fields

    from mlpnet.data.csv import CsvOptions

    table = config.DataConfig()
    for f in fields(CsvOptions):
        mine = getattr(CsvOptions(), f.name)
        theirs = getattr(table, f.name)
        assert (list(mine) if isinstance(mine, tuple) else mine) == theirs, f.name
