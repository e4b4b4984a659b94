"""The MNIST digits shipped inside the package, and `mlpnet train` on a machine without MNIST or network."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlpnet import config, data
from mlpnet.data import locate as sources


def test_sample_is_package_data_with_a_fixed_split() -> None:
    x_tr, y_tr, x_te, y_te = sources.load_sample("mnist-sample")
    assert x_tr.shape == (8000, 28, 28) and x_te.shape == (2000, 28, 28) and x_tr.dtype == np.uint8
    assert np.bincount(y_tr, minlength=10).min() > 600 and set(np.unique(y_te)) == set(range(10))
    ds = data.load(config.load(None, ["data.dataset=mnist-sample", "data.val_size=0.1"]).data, seed=0)
    assert ds.name == "mnist-sample" and (len(ds.train), len(ds.val), len(ds.test)) == (7200, 800, 2000)


def closed_port() -> int:
    """A local port nothing listens on: downloads from it fail at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_train_offline_falls_back_to_the_sample_and_reads_a_photo(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("MLPNET_DATA",)}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
               MLPNET_MIRROR=f"http://127.0.0.1:{closed_port()}/")
    run = subprocess.run([sys.executable, "-m", "mlpnet", "train", "--no-progress"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    notes = [line for line in run.stderr.splitlines() if "mnist-sample" in line]
    assert len(notes) == 1 and notes[0].startswith("note: mnist is not on this machine")
    info = json.loads(subprocess.run([sys.executable, "-m", "mlpnet", "info", "--json"], cwd=tmp_path, env=env,
                                     capture_output=True, text=True, check=True).stdout)
    assert info["dataset"] == "mnist-sample" and info["test"]["n"] == 2000
    assert info["test"]["accuracy"] >= 0.95
    assert "dataset: mnist-sample" in (tmp_path / "runs/mnist/config.yaml").read_text()
    # A digit as people photograph it: dark ink on white, large. The sample's test digits were never trained on.
    _, _, x_te, y_te = sources.load_sample("mnist-sample")
    digit = 255 - np.asarray(Image.fromarray(x_te[3]).resize((280, 280), Image.Resampling.BICUBIC))
    Image.fromarray(digit).save(tmp_path / "photo.png")
    pred = subprocess.run([sys.executable, "-m", "mlpnet", "predict", "photo.png", "--json"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, check=True)
    assert json.loads(pred.stdout)[0]["index"] == int(y_te[3])
    # evaluate reads the dataset the checkpoint records, the sample, without any network either.
    ev = subprocess.run([sys.executable, "-m", "mlpnet", "evaluate", "--json"], cwd=tmp_path, env=env,
                        capture_output=True, text=True, check=True)
    assert json.loads(ev.stdout)["n"] == 2000
