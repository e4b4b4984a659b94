"""How well does ``mlpnet.data.images`` undo the ways users' images differ from MNIST?

Renders real MNIST test digits in each style of ``tests/imagestyles.py``,
preprocesses them, and prints per style the mean Pearson correlation with the
original digit (and its 5th percentile), the ink-mass ratio and the time per
image. With ``--accuracy`` it also trains mlpnet's default network on the first
8000 digits and reports its accuracy on the last 2000 per style, once through
``to_mnist`` (what ``mlpnet predict`` does) and once through a naive resize, to
show what preprocessing buys.

Usage::

    python scripts/robustness.py [--n 2000] [--accuracy] [--epochs 15] [--seed 0]
"""

from __future__ import annotations

import argparse
import tempfile
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import imagestyles

from mlpnet import checkpoint, config
from mlpnet.train import api as trainer
from mlpnet.data.images import to_mnist

PredictFn = Callable[[np.ndarray], np.ndarray]
N_TRAIN = 8000


class Prepared(NamedTuple):
    """One style's images of the held-out digits, before and after ``to_mnist``."""

    images: list[Image.Image]
    processed: np.ndarray  # (n, 28, 28) uint8
    ms_per_image: float


def prepare(digits: np.ndarray, styles: Iterable[str], seed: int = 0) -> dict[str, Prepared]:
    """Render ``digits`` ``(n, 28, 28)`` in each style (reproducible from ``seed``) and preprocess them."""
    prepared = {}
    for style in styles:
        rng = np.random.default_rng(seed)
        images = [imagestyles.STYLES[style](d, rng) for d in digits]
        t0 = time.perf_counter()
        processed = np.stack([to_mnist(im, name=style) for im in images])
        ms = 1000 * (time.perf_counter() - t0) / len(images)
        prepared[style] = Prepared(images, processed, ms)
    return prepared


def naive(img: Image.Image) -> np.ndarray:
    """What a program without preprocessing does: grayscale, squash to 28x28. ``(28, 28)`` uint8."""
    return np.asarray(img.convert("L").resize((28, 28), Image.Resampling.BILINEAR))


def similarity_table(
    digits: np.ndarray, prepared: dict[str, Prepared]
) -> list[tuple[str, float, float, float, float]]:
    """Per style: (name, mean correlation, 5th-percentile correlation, ink-mass ratio, ms per image)."""
    rows = []
    flat = digits.reshape(len(digits), -1).astype(np.float64)
    for style, p in prepared.items():
        corr = np.array([imagestyles.correlation(o, d) for o, d in zip(p.processed, digits)])
        mass = p.processed.reshape(len(digits), -1).sum(1) / flat.sum(1)
        rows.append((style, float(corr.mean()), float(np.percentile(corr, 5)), float(mass.mean()), p.ms_per_image))
    return rows


def accuracy_table(
    predict_fn: PredictFn, prepared: dict[str, Prepared], labels: np.ndarray
) -> list[tuple[str, float, float]]:
    """Accuracy of ``predict_fn`` per style, through ``to_mnist`` and through a naive resize.

    Parameters
    ----------
    predict_fn : callable
        ``predict_fn(x) -> labels`` with ``x`` float32 ``(n, 784)`` in [0, 1]
        (light ink on black, MNIST layout) and labels int ``(n,)``.
    prepared : dict
        From ``prepare(digits, styles)`` on held-out digits (never trained on);
        its ``"original"`` entry is the reference row.
    labels : np.ndarray
        ``(n,)`` the true labels of those digits.

    Returns
    -------
    list of (style, accuracy with to_mnist, accuracy with naive resize)
    """

    def accuracy(batch: np.ndarray) -> float:
        x = batch.reshape(len(batch), -1).astype(np.float32) / 255.0
        return float(np.mean(np.asarray(predict_fn(x)) == labels))

    rows = []
    for style, p in prepared.items():
        raw = np.stack([naive(im) for im in p.images])
        rows.append((style, accuracy(p.processed), accuracy(raw)))
    return rows


def train_mlpnet(images: np.ndarray, labels: np.ndarray, out_dir: Path, epochs: int) -> PredictFn:
    """Train mlpnet's default network (configs/mnist.yaml) on ``images (n, 28, 28)``; return its predictor."""
    npz = out_dir / "digits.npz"
    np.savez(npz, x_train=images, y_train=labels, x_test=images[:1], y_test=labels[:1])
    cfg = config.load(ROOT / "configs" / "mnist.yaml",
                      ["data.dataset=npz", f"data.path={npz}", "data.val_size=500", f"train.epochs={epochs}"])
    trainer.train(cfg, (), out_dir / "run", progress=False, echo=lambda s: None)
    model = checkpoint.load(out_dir / "run" / "best.npz").model

    def predict(batch: np.ndarray) -> np.ndarray:
        return model.predict_proba(batch).argmax(axis=1)

    return predict


def main() -> None:
    """Print the similarity table, and the accuracy table if asked."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="held-out digits per style (last n of t10k)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--accuracy", action="store_true", help="also train mlpnet on the first 8000 digits and report accuracy")
    ap.add_argument("--epochs", type=int, default=15, help="training epochs for --accuracy")
    args = ap.parse_args()
    folder = imagestyles.mnist_dir()
    if folder is None:
        sys.exit("MNIST t10k not found: set MLPNET_TEST_MNIST or put it in ../shared/data/mnist-t10k")
    images, labels = imagestyles.load_t10k(folder)
    test_x, test_y = images[-args.n :], labels[-args.n :].astype(np.int64)
    prepared = prepare(test_x, list(imagestyles.STYLES), args.seed)

    print(f"to_mnist vs original, last {args.n} MNIST test digits per style")
    print(f"{'style':<18} {'mean r':>7} {'p5 r':>6} {'mass':>5} {'ms/img':>7}")
    for style, mean, p5, mass, ms in similarity_table(test_x, prepared):
        print(f"{style:<18} {mean:7.3f} {p5:6.3f} {mass:5.2f} {ms:7.2f}")

    if args.accuracy:
        with tempfile.TemporaryDirectory() as tmp:
            predict = train_mlpnet(images[:N_TRAIN], labels[:N_TRAIN], Path(tmp), args.epochs)
            rows = accuracy_table(predict, prepared, test_y)
        base = rows[0][1]
        print(f"\naccuracy of mlpnet's default network (configs/mnist.yaml, {args.epochs} epochs) trained on the "
              f"first {N_TRAIN} real digits,\non the last {args.n} digits drawn in each style")
        print(f"{'style':<18} {'predict':>8} {'vs plain':>9} {'no preprocessing':>17}")
        for style, acc_pre, acc_raw in rows:
            print(f"{style:<18} {acc_pre:8.3f} {acc_pre - base:+9.3f} {acc_raw:17.3f}")


if __name__ == "__main__":
    main()
