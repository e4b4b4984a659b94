"""``mlpnet sweep`` with metric val_r2 on a regression CSV (issue 20)."""

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from mlpnet import checkpoint
from mlpnet.cli import cli

from conftest import skip_reason


@pytest.mark.slow
def test_sweep_ranks_regression_trials_by_val_r2(tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed", reason=skip_reason("dask"))
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = 5 + 2 * x[:, 0] - x[:, 1] + 0.1 * rng.normal(size=300)
    np.savetxt("reg.csv", np.c_[x, y], delimiter=",", header="a,b,c,y", comments="", fmt="%.5f")
    (tmp_path / "sw.yaml").write_text("metric: val_r2\nmethod: grid\nparameters:\n"
                                      "  optimizer.lr: {values: [0.00001, 0.01]}\n")
    r = CliRunner().invoke(cli, ["sweep", "sw.yaml", "--set", "data.path=reg.csv", "--set", "data.label_column=y",
                                 "--set", "model.hidden=[16]", "--set", "train.epochs=10", "--workers", "1"])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "sweeps" / "sw" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert "val_r2" in rows[0] and {row["status"] for row in rows} == {"ok"}
    best = max(rows, key=lambda row: float(row["val_r2"]))
    assert float(best["optimizer.lr"]) == pytest.approx(0.01) and float(best["val_r2"]) > 0.8
    ckpt = checkpoint.load(tmp_path / "sweeps" / "sw" / f"trial-{int(best['trial']):03d}" / "best.npz")
    assert ckpt.task == "regression" and ckpt.meta.config["train"]["monitor"] == "val_r2"
