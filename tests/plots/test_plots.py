"""Tests for mlpnet.plots: valid PNGs, atomic writes, a clear error without matplotlib."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import skip_reason
from PIL import Image

from mlpnet import plots
from mlpnet.errors import MlpnetError
from mlpnet.plots import PlotUnavailable

LONG = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker"]


def curves_rows(n: int = 8) -> list[dict]:
    rows = []
    for e in range(1, n + 1):
        rows.append(
            {
                "epoch": e,
                "train_loss": 1 / e,
                "train_accuracy": 1 - 0.5 / e,
                # As csv.DictReader gives them: strings, with validation every other epoch.
                "val_loss": f"{1.1 / e}" if e % 2 else "",
                "val_accuracy": 1 - 0.6 / e if e % 2 else math.nan,
                "lr": 0.1,
                "seconds": 1.0,
            }
        )
    return rows


def assert_png(path: Path, min_side: int = 300) -> None:
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert min(im.size) >= min_side
        im.verify()
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def mistakes(n: int = 50, k: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y_true = rng.integers(0, k, n)
    probs = rng.dirichlet(np.ones(k), n)
    return images, y_true, probs.argmax(axis=1), probs


def test_plot_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    out = plots.plot_curves(curves_rows(), tmp_path / "curves.png")
    assert out == tmp_path / "curves.png"
    assert_png(out)


def test_plot_curves_without_validation_and_into_new_folder(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    rows = [{"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.8}]
    assert_png(plots.plot_curves(rows, tmp_path / "run" / "curves.png", title="one epoch"))


def test_plot_curves_rejects_garbage(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    with pytest.raises(ValueError, match="no epochs"):
        plots.plot_curves([], tmp_path / "c.png")
    with pytest.raises(ValueError, match="train_loss='x'"):
        plots.plot_curves([{"epoch": 1, "train_loss": "x"}], tmp_path / "c.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("k", [3, 8, 30])
def test_plot_confusion(tmp_path: Path, k: int) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    rng = np.random.default_rng(k)
    cm = rng.integers(0, 50, (k, k)) + np.diag(rng.integers(100, 500, k))
    cm[0] = 0  # a class with no samples must not divide by zero
    names = (LONG * 4)[:k] if k <= 8 else [f"class {i}" for i in range(k)]
    assert_png(plots.plot_confusion(cm, names, tmp_path / "cm.png"))


def test_plot_confusion_checks_shape(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        plots.plot_confusion(np.zeros((3, 3), np.int64), ["a", "b"], tmp_path / "cm.png")


def test_plot_misclassified(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    images, y_true, y_pred, probs = mistakes()
    assert_png(plots.plot_misclassified(images, y_true, y_pred, probs, LONG, tmp_path / "m.png"))


@pytest.mark.parametrize(
    "shape, dtype",
    [
        ((20, 28, 28), np.float32),
        ((20, 784), np.float64),
        ((20, 8, 8, 3), np.uint8),
        ((20, 8, 8, 3), np.float32),
    ],
)
def test_plot_misclassified_image_layouts(tmp_path: Path, shape: tuple, dtype: type) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    _, y_true, y_pred, probs = mistakes(20)
    images = np.random.default_rng(0).normal(size=shape)
    images = (np.abs(images) * 60).astype(dtype) if dtype == np.uint8 else images.astype(dtype)
    path = tmp_path / "m.png"
    assert_png(
        plots.plot_misclassified(images, y_true, y_pred, probs, LONG, path, max_items=5),
        min_side=150,
    )


def test_plot_misclassified_with_no_mistakes(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    images, y_true, _, probs = mistakes(10)
    path = plots.plot_misclassified(images, y_true, y_true, probs, LONG, tmp_path / "m.png")
    assert_png(path, min_side=100)


def test_plot_misclassified_checks_lengths(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    images, y_true, y_pred, probs = mistakes(10)
    with pytest.raises(ValueError, match="disagree on n"):
        plots.plot_misclassified(images[:5], y_true, y_pred, probs, LONG, tmp_path / "m.png")


def test_failed_save_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib", reason=skip_reason("matplotlib"))
    from matplotlib.figure import Figure

    def boom(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", boom)
    (tmp_path / "cm.png").write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        plots.plot_confusion(np.eye(2, dtype=np.int64), ["a", "b"], tmp_path / "cm.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png"]
    assert (tmp_path / "cm.png").read_bytes() == b"old"  # the old file is untouched


@pytest.mark.parametrize("name", ["plot_curves", "plot_confusion", "plot_misclassified"])
def test_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    images, y_true, y_pred, probs = mistakes(10)
    args = {
        "plot_curves": (curves_rows(),),
        "plot_confusion": (np.eye(8, dtype=np.int64), LONG),
        "plot_misclassified": (images, y_true, y_pred, probs, LONG),
    }[name]
    with pytest.raises(PlotUnavailable) as info:
        getattr(plots, name)(*args, tmp_path / "x.png")
    assert str(info.value) == 'matplotlib is not installed; pip install "mlpnet[plot]" to get plots'
    assert isinstance(info.value, MlpnetError)
    assert list(tmp_path.iterdir()) == []


def test_module_imports_without_matplotlib() -> None:
    code = "import sys; sys.modules['matplotlib'] = None; import mlpnet.plots"
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
