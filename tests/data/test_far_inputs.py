"""A CSV value so far from the training data that it overflows float32 once standardized used to
become the largest float (``nan_to_num``) and give an answer with exit 0; now it is refused, naming
the file, the row and the feature."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mlpnet.cli import cli
from mlpnet.data.spec import InputSpec
from mlpnet.errors import DataError


def test_to_network_refuses_what_float32_cannot_hold():
    spec = InputSpec(kind="table", features=["a", "b"], mean=np.array([0.5, 0.5]), std=np.array([0.25, 0.25]))
    assert spec.to_network(np.array([[1.0, 2.0]])).tolist() == [[2.0, 6.0]]
    with pytest.raises(DataError, match=r"row 2, feature 'b': 3e\+38 is too far from the training data"):
        spec.to_network(np.array([[1.0, 2.0], [0.0, 3e38]]))


def test_predict_reports_the_file_and_keeps_going(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.random((120, 2))
    rows = "\n".join(f"{a:.3f},{b:.3f},{3 * a + b:.3f}" for a, b in x)
    (tmp_path / "train.csv").write_text("a,b,y\n" + rows + "\n")
    r = CliRunner().invoke(cli, ["train", "--set", "data.path=train.csv", "--set", "data.label_column=y",
                                 "--set", "train.epochs=2", "-o", "run"])
    assert r.exit_code == 0, r.output
    (tmp_path / "far.csv").write_text("a,b\n3e38,0.5\n")
    (tmp_path / "near.csv").write_text("a,b\n0.5,0.5\n")
    r = CliRunner().invoke(cli, ["predict", "-m", "run/best.npz", "--json", "far.csv", "near.csv"])
    assert r.exit_code == 1
    far, near = json.loads(r.stdout)
    assert far["input"] == "far.csv" and far["error"].startswith("far.csv: row 1, feature 'a': 3e+38 is too far")
    assert near["file"] == "near.csv" and np.isfinite(near["values"]["y"])
