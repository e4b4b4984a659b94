"""Small trained checkpoints for the serve and export tests: real digits and a tabular CSV."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from mlpnet import checkpoint, config
from mlpnet.checkpoint import Meta
from mlpnet.data.spec import InputSpec
from mlpnet.data.idx import read_idx_pair, write_idx
from mlpnet.nn.model import MLP, Architecture

from conftest import REPO, real_mnist_dir, small_config, train_small

MNIST = real_mnist_dir()


def mnist_t10k() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 real MNIST test digits (uint8 (n, 28, 28)) and labels."""
    return read_idx_pair(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz")


def train_digits(root: Path, *overrides: str) -> Path:
    """Train on the first 8,000 real digits (the last 2,000 are its test split); returns best.npz.

    Skips the calling test when the real digits are not on the machine."""
    if MNIST is None:
        pytest.skip("real MNIST digits not present")
    x, y = mnist_t10k()
    d = root / "digits"
    d.mkdir(parents=True, exist_ok=True)
    write_idx(d / "train-images-idx3-ubyte.gz", x[:8000])
    write_idx(d / "train-labels-idx1-ubyte.gz", y[:8000])
    write_idx(d / "t10k-images-idx3-ubyte.gz", x[8000:])
    write_idx(d / "t10k-labels-idx1-ubyte.gz", y[8000:])
    cfg = config.load(REPO / "configs" / "mnist.yaml", ["data.dataset=idx", f"data.path={d}", "data.val_size=1000",
                                                         "train.epochs=4", *overrides])
    return train_small(cfg, root / "run").out_dir / "best.npz"


FEATURES = ["length_cm", "weight_kg", "age_days", "ratio"]


def write_tabular_csv(path: Path, n: int = 600, seed: int = 0) -> Path:
    """Three string classes separable from four features on very different scales (so standardizing matters)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[10.0, 2000.0, 30.0, 0.1], [14.0, 2600.0, 90.0, 0.5], [18.0, 2300.0, 150.0, 0.9]])
    scale = np.array([1.5, 200.0, 20.0, 0.15])
    x = centres[y] + rng.normal(size=(n, 4)) * scale
    names = np.array(["heron", "ibis", "stork"])
    lines = [",".join(FEATURES + ["species"])]
    lines += [",".join(f"{v:.4f}" for v in row) + f",{names[k]}" for row, k in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def train_tabular(root: Path, *overrides: str) -> Path:
    """Train on :func:`write_tabular_csv`; returns best.npz."""
    csv = write_tabular_csv(root / "birds.csv")
    cfg = small_config(csv, "data.label_column=species", "train.epochs=15", "optimizer.lr=0.01", *overrides)
    return train_small(cfg, root / "run").out_dir / "best.npz"


def random_image_model(path: Path, activation: str, output: str, seed: int = 0) -> Path:
    """An untrained 784-32-16-10 checkpoint with the given activations (weights from ``xavier``)."""
    model = MLP(Architecture(sizes=(784, 32, 16, 10), activation=activation, output=output))
    model.init("xavier", np.random.default_rng(seed))
    spec = InputSpec("image", height=28, width=28, channels=1, preprocess="mnist")
    checkpoint.save(path, model, Meta(classes=[str(i) for i in range(10)], input=spec))
    return path


def start_server(ckpt: Path, *extra: str, stderr=subprocess.PIPE) -> tuple[subprocess.Popen, str]:
    """Run ``mlpnet serve`` on a free port of 127.0.0.1 until it answers /health; returns it and its URL.

    ``stderr`` may be an open file, for a server that writes more than a pipe holds (an access log under load).
    """
    proc = subprocess.Popen([sys.executable, "-m", "mlpnet", "serve", "--model", str(ckpt), "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=REPO,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stdout.readline().strip()
    assert line.startswith("serving on http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() else "")
    url = line.split("serving on ")[1]
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/health", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    return proc, url
