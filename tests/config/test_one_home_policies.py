"""Issue 19 point 3: metric direction defined once; the sweep file validated by the config code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mlpnet import config, metrics
from mlpnet.errors import ConfigError

PKG = Path(config.__file__).parent


def test_metric_direction_is_defined_once():
    assert set(config.MONITORS) - {"auto"} <= set(metrics.DIRECTION)
    assert metrics.higher_is_better("val_accuracy") and not metrics.higher_is_better("val_loss")
    for path in PKG.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for guess in ('endswith("loss")', 'endswith("accuracy")', '"max"', "'max'"):
            if path.name != "metrics.py":
                assert guess not in text, f"{path.relative_to(PKG)} decides a metric's direction itself ({guess})"


def test_sweep_imports_no_private_config_helpers():
    for path in (PKG / "sweep").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("config"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"sweep/{path.name} imports {private} from config"


def test_sweep_file_top_level_is_checked_by_the_config_code(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("metric: val_los\ntrials: 2\nparameters: {optimizer.lr: {values: [0.1]}}\n")
    with pytest.raises(ConfigError, match=r"s\.yaml: metric: 'val_los' is not one of val_accuracy, val_loss, val_r2 "
                                          r"\(did you mean 'val_loss'\?\)"):
        config.load_sweep_file(path)
    path.write_text("trials: -1\nparameters: {}\n")
    with pytest.raises(ConfigError, match=r"trials: -1 is out of range"):
        config.load_sweep_file(path)
    path.write_text("method: grid\nparameters: {model.hidden: {values: [[8]]}}\n")
    top = config.load_sweep_file(path)
    assert (top.name, top.method, top.metric, top.trials, top.prune) == ("s", "grid", "val_accuracy", None, "none")
