"""Training on real handwritten digits: the MNIST test set shipped beside the repo.

The full MNIST training set cannot be downloaded on the CI machines, so these tests split
the real 10,000 test digits: the first 8,000 for training, the last 2,000 for testing,
written out as an ``idx`` dataset folder. Skipped only where that data is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import imagestyles
from click.testing import CliRunner

from mlpnet import config
from mlpnet.train import api as trainer
from mlpnet.cli import cli
from mlpnet.data.idx import read_idx_pair, write_idx

from conftest import REPO, needs_mnist, real_mnist_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MNIST = real_mnist_dir()


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    x, y = read_idx_pair(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz")
    d = tmp_path_factory.mktemp("digits")
    write_idx(d / "train-images-idx3-ubyte.gz", x[:8000])
    write_idx(d / "train-labels-idx1-ubyte.gz", y[:8000])
    write_idx(d / "t10k-images-idx3-ubyte.gz", x[8000:])
    write_idx(d / "t10k-labels-idx1-ubyte.gz", y[8000:])
    return d


def _train(cfg_file, digits_dir, out, *extra):
    cfg = config.load(REPO / "configs" / cfg_file, ["data.dataset=idx", f"data.path={digits_dir}",
                                                    "data.val_size=1000", *extra])
    return trainer.train(cfg, (), out, progress=False, echo=lambda s: None)


@pytest.fixture(scope="module")
def default_run(digits_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("default") / "run"
    return _train("mnist.yaml", digits_dir, out, "train.epochs=8")


@needs_mnist
def test_default_config_learns_real_digits(default_run):
    # 7,000 training digits, 8 epochs: the default network reaches >= 95% on 2,000 unseen digits.
    assert default_run.test["accuracy"] >= 0.95, default_run.test


@needs_mnist
def test_predict_reads_users_images_about_as_well_as_originals(default_run, tmp_path):
    """Unseen real digits saved as user-like image files (dark ink on paper, photos as JPEG,
    transparent PNGs, tiny digits in big frames, ...) are read through `mlpnet predict`
    within a few points of the plain 28x28 originals."""
    x, y = read_idx_pair(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz")
    digits, labels = x[-150:], y[-150:]
    model = default_run.out_dir / "best.npz"
    accuracy = {}
    for style, draw in imagestyles.STYLES.items():
        folder = tmp_path / style
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i, d in enumerate(digits):
            draw(d, rng, folder / f"{i:03d}{imagestyles.EXTENSIONS[style]}")
        r = CliRunner().invoke(cli, ["predict", str(folder), "--model", str(model), "--json"])
        assert r.exit_code == 0, r.output
        got = {Path(p["file"]).stem: p["index"] for p in json.loads(r.stdout)}
        accuracy[style] = np.mean([got[f"{i:03d}"] == labels[i] for i in range(len(digits))])
    for style, acc in accuracy.items():
        assert acc >= accuracy["original"] - 0.05, accuracy


@needs_mnist
def test_seed_article_network_learns_real_digits(digits_dir, tmp_path):
    # The seed network exactly (sigmoid, squared error, per-sample SGD), 1 epoch: >= 85%.
    r = _train("mnist-seed.yaml", digits_dir, tmp_path / "run", "train.epochs=1")
    assert r.test["accuracy"] >= 0.85, r.test
