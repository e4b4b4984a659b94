"""Shared fixtures: small generated datasets and locations of the real data on this machine."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def real_mnist_dir() -> Path | None:
    """The real MNIST test set shipped beside the repo (``../shared/data/mnist-t10k``), if present."""
    candidates = [os.environ.get("MLPNET_TEST_MNIST"), REPO.parent / "shared" / "data" / "mnist-t10k"]
    for c in candidates:
        if c and (Path(c) / "t10k-images-idx3-ubyte.gz").exists():
            return Path(c)
    return None


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test away from the real user cache and data folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("MLPNET_DATA", raising=False)
    monkeypatch.delenv("MLPNET_MIRROR", raising=False)


def make_blobs_npz(path: Path, n_train: int = 600, n_test: int = 200, seed: int = 0, n_classes: int = 4) -> Path:
    """A tiny learnable image dataset: each class a fixed random 28x28 pattern plus noise, uint8."""
    rng = np.random.default_rng(seed)
    protos = rng.integers(0, 256, size=(n_classes, 28, 28))

    def draw(n):
        y = rng.integers(0, n_classes, n)
        x = protos[y] * 0.6 + rng.integers(0, 100, size=(n, 28, 28))
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)

    x_tr, y_tr = draw(n_train)
    x_te, y_te = draw(n_test)
    np.savez(path, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    return path


@pytest.fixture
def blobs(tmp_path) -> Path:
    return make_blobs_npz(tmp_path / "blobs.npz")
