"""Shared fixtures: small generated datasets and locations of the real data on this machine."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import imagestyles
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

REAL_HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)
"""The user's real home (from the password database, whatever ``HOME`` says): no test may touch it."""

_HOME_VARS = ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
_SESSION_HOME: Path | None = None


def _point_home_at(home: Path, env=os.environ) -> None:
    """``HOME`` and every XDG base folder inside ``home``; mlpnet's own data variables unset."""
    env["HOME"] = str(home)
    for var, sub in zip(_HOME_VARS, (".cache", ".local/state", ".config", ".local/share")):
        env[var] = str(home / sub)
    for var in ("MLPNET_DATA", "MLPNET_MIRROR"):
        env.pop(var, None)


def pytest_configure(config):
    """Before any fixture of any scope, and before collection imports a test module, move the home.

    The function-scoped fixture below gives each test a fresh home; this one covers what runs
    outside a test (session- and module-scoped fixtures, module imports, subprocesses they start).
    """
    global _SESSION_HOME
    _SESSION_HOME = Path(tempfile.mkdtemp(prefix="mlpnet-tests-home-"))
    _point_home_at(_SESSION_HOME)


def pytest_unconfigure(config):
    if _SESSION_HOME is not None:
        shutil.rmtree(_SESSION_HOME, ignore_errors=True)


def real_mnist_dir() -> Path | None:
    """The real MNIST test digits: ``../shared/data/mnist-t10k`` if present, else the copy mlpnet ships."""
    return imagestyles.mnist_dir()


needs_mnist = pytest.mark.skipif(real_mnist_dir() is None, reason="real MNIST digits not present "
                                 "(../shared/data/mnist-t10k, MLPNET_TEST_MNIST, or mlpnet's mnist-sample)")
"""Marks a test that reads the real MNIST test digits."""


EXTRA_OF = {"sklearn": "sklearn", "matplotlib": "plot", "starlette": "serve", "uvicorn": "serve",
            "multipart": "serve", "httptools": "serve", "prometheus_client": "serve", "onnx": "onnx",
            "distributed": "sweep", "dask": "sweep", "mpi4py": "mpi",
            "torch": "bench", "pytest": "test", "hypothesis": "test", "httpx": "test", "onnxruntime": "test",
            "playwright": "test"}
"""Which extra of pyproject.toml installs each optional module (pandas and scipy belong to none)."""


def skip_reason(module: str) -> str:
    """Why a test of ``module`` is skipped where it is absent: the module and what installs it."""
    top = module.split(".")[0]
    how = f"pip install 'mlpnet[{EXTRA_OF[top]}]'" if top in EXTRA_OF else f"pip install {top}"
    return f"{top} is not installed ({how})"


def missing_modules(path: Path) -> list[str]:
    """The modules a script imports at its top level that this environment lacks (mlpnet's own excluded)."""
    import ast
    import importlib.util

    tree = ast.parse(path.read_text(), str(path))
    names = [a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names]
    names += [node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module and not node.level]
    tops = dict.fromkeys(n.split(".")[0] for n in names)
    local = (path.parent, REPO / "tests")  # the scripts put these on sys.path themselves
    return [m for m in tops if m != "mlpnet" and not any((d / f"{m}.py").exists() for d in local)
            and importlib.util.find_spec(m) is None]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test away from the real user cache and data folders: a fresh home per test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var, sub in zip(_HOME_VARS, (".cache", ".local/state", ".config", ".local/share")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.delenv("MLPNET_DATA", raising=False)
    monkeypatch.delenv("MLPNET_MIRROR", raising=False)


def make_blobs_npz(path: Path, n_train: int = 600, n_test: int = 200, seed: int = 0, n_classes: int = 4) -> Path:
    """A tiny learnable image set in MNIST form: light strokes on black, centred, uint8 (n, 28, 28).

    Class 0 is a horizontal bar, 1 a vertical bar, 2 a cross, 3 a square outline, each
    with random stroke width, size, brightness and noise.
    """
    rng = np.random.default_rng(seed)
    return _save_shapes(path, rng, n_train, n_test, n_classes)


def draw_shape(label: int, rng: np.random.Generator) -> np.ndarray:
    """One 28x28 uint8 image of class ``label`` (see make_blobs_npz)."""
    img = np.zeros((28, 28), np.float64)
    half = int(rng.integers(6, 10))  # half the extent of the shape
    t = int(rng.integers(2, 4))  # stroke width
    c = 14 + int(rng.integers(-1, 2))
    lo, hi = c - half, c + half
    if label in (0, 2):
        img[c - t // 2:c - t // 2 + t, lo:hi] = 1
    if label in (1, 2):
        img[lo:hi, c - t // 2:c - t // 2 + t] = 1
    if label == 3:
        img[lo:hi, lo:lo + t] = img[lo:hi, hi - t:hi] = 1
        img[lo:lo + t, lo:hi] = img[hi - t:hi, lo:hi] = 1
    img *= rng.uniform(0.7, 1.0)
    img += rng.uniform(0, 0.05, img.shape)
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def _save_shapes(path, rng, n_train, n_test, n_classes):
    def draw(n):
        y = rng.integers(0, n_classes, n)
        return np.stack([draw_shape(int(k), rng) for k in y]), y.astype(np.int64)

    x_tr, y_tr = draw(n_train)
    x_te, y_te = draw(n_test)
    np.savez(path, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    return path


@pytest.fixture
def blobs(tmp_path) -> Path:
    return make_blobs_npz(tmp_path / "blobs.npz")


# --- the one small-run factory ---------------------------------------------------------------------------

SMALL = ("data.val_size=100", "model.hidden=[16]", "train.batch_size=32", "optimizer.lr=0.005",
         "train.min_steps=0", "train.min_batches=0")
"""What makes a run small and fast: one narrow layer, small batches, none of the small-data heuristics."""


def small_config(data: Path, *overrides: str):
    """A small run's config on ``data`` (an .npz of :func:`make_blobs_npz` or a CSV); later overrides win."""
    from mlpnet import config

    kind = {".npz": "npz", ".csv": "csv"}[Path(data).suffix]
    return config.load(None, [f"data.dataset={kind}", f"data.path={data}", *SMALL, *overrides])


def small_cli(data: Path, *overrides: str) -> list[str]:
    """The same small run as ``mlpnet train`` options."""
    kind = {".npz": "npz", ".csv": "csv"}[Path(data).suffix]
    return [arg for o in (f"data.dataset={kind}", f"data.path={data}", *SMALL, *overrides) for arg in ("--set", o)]


def train_small(cfg, out: Path | None, resume_overrides=(), *, echo=None, **kw):
    """Train ``cfg`` into ``out`` without bars; ``echo`` receives the lines (default: dropped)."""
    from mlpnet.train import api as trainer

    return trainer.train(cfg, resume_overrides, out, progress=False, echo=echo or (lambda line: None), **kw)


@pytest.fixture
def small_run(blobs, tmp_path):
    """Train a small model on the generated shapes: ``small_run(*overrides, out=, data=, echo=, **train_kw)``."""

    def run(*overrides: str, out: Path | None = None, data: Path | None = None, **kw):
        return train_small(small_config(data or blobs, *overrides), out or tmp_path / "run", **kw)

    return run
