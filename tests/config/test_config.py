"""Config loading: defaults, overrides, and one clear error per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlpnet import config
from mlpnet.errors import ConfigError

from conftest import REPO


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_configs_mnist_yaml_is_the_default_table():
    """configs/mnist.yaml documents the defaults; it must not drift from the dataclasses."""
    assert config.load() == config.load(REPO / "configs" / "mnist.yaml")


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    cfg = config.load(path)
    assert cfg.name == path.stem
    # the resolved YAML loads back to the same config
    assert config.from_dict(yaml.safe_load(cfg.to_yaml()), "round trip") == cfg


# The keys the README promises, each with a valid value that is no default: an override must land on it.
REQUIRED = {"seed": 7, "data.dataset": "fashion-mnist", "data.path": "/srv/elsewhere", "data.val_size": 0.25,
            "model.hidden": [7, 5], "model.activation": "tanh", "loss": "mse", "optimizer.name": "sgd",
            "optimizer.lr": 0.125, "train.epochs": 3, "train.batch_size": 5}


def _get(cfg, key):
    for part in key.split("."):
        cfg = getattr(cfg, part)
    return cfg


@pytest.mark.parametrize("key", REQUIRED)
def test_required_keys_exist_and_take_an_override(key):
    assert key in {row["key"] for row in config.schema_rows()}
    before = _get(config.load(), key)
    assert before != REQUIRED[key]
    cfg = config.load(None, [f"{key}={yaml.safe_dump(REQUIRED[key], default_flow_style=True).strip().removesuffix('...').strip()}"])
    assert _get(cfg, key) == REQUIRED[key]


def test_overrides_dotted_paths_and_yaml_values():
    cfg = config.load(None, ["model.hidden=[32, 16]", "optimizer.lr=1e-2", "train.epochs=3",
                             "data.val_size=0.1", "model.dropout=0"])
    assert cfg.model.hidden == [32, 16] and cfg.optimizer.lr == 0.01 and cfg.train.epochs == 3
    assert cfg.data.val_size == 0.1 and cfg.model.dropout == 0.0


def test_data_paths_are_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = config.load(None, ["data.dataset=npz", "data.path=sub/x.npz", "data.test_path=~/t.csv"])
    assert cfg.data.path == str(tmp_path / "sub" / "x.npz")
    assert cfg.data.test_path == str(Path.home() / "t.csv")


def test_name_defaults_to_file_stem(tmp_path):
    assert config.load(write(tmp_path, "seed: 3\n", "my-run.yaml")).name == "my-run"


@pytest.mark.parametrize("text,match", [
    ("modle: {}\n", r"c\.yaml: unknown key 'modle' \(did you mean 'model'\?\)"),
    ("model: {hiden: [3]}\n", r"c\.yaml: unknown key 'model\.hiden' \(did you mean 'hidden'\?\)"),
    ("model: {zzz: 1}\n", r"unknown key 'model\.zzz'; valid keys in model: hidden, activation"),
    ("train: {epochs: ten}\n", r"c\.yaml: train\.epochs: expected an integer or 'auto', got 'ten'"),
    ("train: {epochs: 0}\n", r"train\.epochs: 0 is out of range \(must be >= 1\)"),
    ("optimizer: {lr: -1}\n", r"optimizer\.lr: -1\.0 is out of range \(must be > 0\)"),
    ("model: {activation: rellu}\n", r"model\.activation: 'rellu' is not one of .* \(did you mean 'relu'\?\)"),
    ("model: {hidden: 128}\n", r"model\.hidden: expected a list of integers, got 128"),
    ("train: {epochs: 3}\ntrain: {epochs: 4}\n", r"c\.yaml: duplicate key 'train' at line 2"),
    ("optimizer: {lr: .nan}\n", r"optimizer\.lr: nan is not a finite number"),
    ("optimizer: {lr: .inf}\n", r"optimizer\.lr: inf is not a finite number"),
    ("name: ../escape\n", r"name: '\.\./escape' must be a plain run name"),
    ("model: {hidden: [128, -1]}\n", r"model\.hidden\[1\]: -1 is out of range"),
    ("model: {dropout: 1.0}\n", r"model\.dropout: 1\.0 is out of range \(must be < 1\)"),
    ("train: {shuffle: 'yes please'}\n", r"train\.shuffle: expected true or false"),
    ("loss: mse\nmodel: {output: softmax}\n", r"model\.output: 'softmax' cannot be used with loss 'mse'"),
    ("data: {dataset: npz}\n", r"data\.path: dataset 'npz' needs data\.path"),
    ("data: {val_size: 1.5}\n", r"data\.val_size: 1\.5 must be a count"),
    ("train: [1, 2]\n", r"c\.yaml: train must be a mapping"),
    ("- a\n- b\n", r"c\.yaml: a config must be a mapping"),
    ("model: {hidden: [1, 2}\n", r"c\.yaml: YAML syntax error at line 1"),
])
def test_file_errors_name_file_and_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        config.load(write(tmp_path, text))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: no such config file"):
        config.load(tmp_path / "nope.yaml")


@pytest.mark.parametrize("item,match", [
    ("train.epoch=3", r"--set train\.epoch=3: unknown key 'train\.epoch' \(did you mean 'epochs'\?\)"),
    ("train.epochs=-2", r"--set train\.epochs=-2: train\.epochs: -2 is out of range"),
    ("optimizer.lr=fast", r"--set optimizer\.lr=fast: optimizer\.lr: expected a number"),
    ("seed.x=1", r"seed is not a section"),
    ("justakey", r"expected KEY=VALUE"),
])
def test_override_errors_name_the_override(item, match):
    with pytest.raises(ConfigError, match=match):
        config.load(None, [item])


def test_resume_allows_only_safe_keys():
    cfg = config.load()
    assert config.apply_overrides(cfg, ["train.epochs=40"], allowed=("train.epochs",)).train.epochs == 40
    with pytest.raises(ConfigError, match="model.hidden cannot change when resuming"):
        config.apply_overrides(cfg, ["model.hidden=[3]"], allowed=("train.epochs",))


def test_print_config_is_complete_yaml():
    text = config.load().to_yaml()
    d = yaml.safe_load(text)
    assert set(d) == {"name", "seed", "task", "data", "model", "loss", "label_smoothing", "optimizer", "schedule", "train"}
    assert d["optimizer"]["name"] == "adam" and d["model"]["activation"] == "relu"
