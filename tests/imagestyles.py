"""Turn real 28x28 MNIST digits into the kinds of images users actually feed ``predict``.

Used by ``tests/data/test_preprocess.py`` and ``scripts/robustness.py``. Every style
is ``style(digit, rng, path=None) -> PIL.Image.Image`` with ``digit`` a
``(28, 28)`` uint8 MNIST image (light on black). Given a ``path``, the image
is also written there in the style's real format (PNG, JPEG, GIF), so the
decoding path is exercised; lossy formats are round-tripped in memory too, so
the returned image carries the same artefacts as the file.

Also holds the lookup of the real MNIST test set shipped beside the repo.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from mlpnet.data.idx import read_idx_pair
from mlpnet.data.locate import SAMPLES_DIR

Style = Callable[..., Image.Image]

MNIST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared/data/mnist-t10k"
"""The MNIST test set beside the repository on the project's machines."""

SHIPPED_MNIST = SAMPLES_DIR / "mnist-sample"
"""The same 10,000 digits as shipped inside the package (``mnist-sample``): every install has them."""


def mnist_dir() -> Path | None:
    """The folder holding the MNIST t10k files: ``MLPNET_TEST_MNIST``, the shared folder, then the package's."""
    candidates = [os.environ.get("MLPNET_TEST_MNIST"), SHARED_MNIST, SHIPPED_MNIST]
    for c in candidates:
        if c and all((Path(c) / f).is_file() for f in MNIST_FILES):
            return Path(c)
    return None


def load_t10k(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images ``(10000, 28, 28)`` uint8 and labels ``(10000,)`` int64."""
    return read_idx_pair(folder / MNIST_FILES[0], folder / MNIST_FILES[1])


def _save(img: Image.Image, path: Path | None, fmt: str, **kw) -> None:
    """Write ``img`` in format ``fmt`` if a path is given."""
    if path is not None:
        img.save(path, format=fmt, **kw)


def _enlarge(digit: np.ndarray, side: int) -> np.ndarray:
    """The digit bicubically enlarged to ``side`` x ``side``, float in [0, 1] (ink = 1)."""
    img = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.float32) / 255.0


def _on_paper(ink: np.ndarray, shape: tuple[int, int], top: int, left: int) -> np.ndarray:
    """Ink coverage ``ink`` placed at (top, left) on a blank ``shape`` canvas, float in [0, 1]."""
    cover = np.zeros(shape, dtype=np.float32)
    cover[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return cover


def _gray(a: np.ndarray) -> Image.Image:
    """A float array in [0, 1] as an 8-bit L image."""
    return Image.fromarray(np.rint(np.clip(a, 0, 1) * 255).astype(np.uint8), "L")


def original(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """The MNIST digit itself, 28x28 L PNG."""
    img = Image.fromarray(digit, "L")
    _save(img, path, "PNG")
    return img


def inverted(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """Dark ink on white paper, enlarged to 280x280, L PNG."""
    img = _gray(1.0 - _enlarge(digit, 280))
    _save(img, path, "PNG")
    return img


def large_canvas(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """Digit drawn big (~250 px tall) in navy pen on a 600x400 white RGB canvas, PNG."""
    side = int(rng.integers(300, 380))
    cover = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    mask = Image.new("L", (600, 400))
    mask.paste(cover, (int(rng.integers(0, 600 - side)), int(rng.integers(0, 400 - side))))
    img = Image.composite(Image.new("RGB", (600, 400), (20, 30, 110)), Image.new("RGB", (600, 400), "white"), mask)
    _save(img, path, "PNG")
    return img


def off_centre(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """Small (~60 px) digit near a corner of a 500x500 white canvas, L PNG."""
    side = 84
    ink = _enlarge(digit, side)
    top = int(rng.choice([int(rng.integers(5, 40)), int(rng.integers(500 - side - 40, 500 - side - 5))]))
    left = int(rng.choice([int(rng.integers(5, 40)), int(rng.integers(500 - side - 40, 500 - side - 5))]))
    img = _gray(1.0 - _on_paper(ink, (500, 500), top, left))
    _save(img, path, "PNG")
    return img


def rgba_transparent(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """Black strokes on a fully transparent 224x224 background, RGBA PNG."""
    alpha = np.rint(_enlarge(digit, 224) * 255).astype(np.uint8)
    rgba = np.zeros((224, 224, 4), dtype=np.uint8)
    rgba[..., 3] = alpha
    img = Image.fromarray(rgba, "RGBA")
    _save(img, path, "PNG")
    return img


def noisy_jpeg(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """A phone photo: grey paper, lighting falling off ~40% across it, sensor noise, JPEG q70, RGB."""
    h, w, side = 300, 400, 220
    mask = Image.new("L", (w, h))
    cover = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    mask.paste(cover, (int(rng.integers(20, w - side - 20)), int(rng.integers(10, h - side - 10))))
    drawn = Image.composite(Image.new("RGB", (w, h), (45, 45, 55)), Image.new("RGB", (w, h), (205, 198, 188)), mask)
    # Light falls off linearly in a random direction, from 1.0 to 0.6 (made small, then enlarged).
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[-0.5:0.5:30j, -0.5:0.5:40j]
    light = 0.8 + 0.2 * 2**0.5 * (np.cos(angle) * xx + np.sin(angle) * yy)
    light_img = Image.fromarray(np.rint(255 * light).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
    lit = ImageChops.multiply(drawn, light_img.convert("RGB"))
    noise = Image.fromarray(np.clip(128 + 5 * rng.standard_normal((h, w)), 0, 255).astype(np.uint8))
    noisy = ImageChops.add(lit, noise.convert("RGB"), scale=1.0, offset=-128)  # luminance noise, sd 5
    buf = io.BytesIO()
    noisy.save(buf, format="JPEG", quality=70)
    if path is not None:
        Path(path).write_bytes(buf.getvalue())
    buf.seek(0)
    with Image.open(buf) as im:
        return im.convert("RGB")


def tiny_in_big_frame(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """A ~15 px tall digit somewhere in a 300x300 white frame, L PNG."""
    side = 21  # MNIST's 20 px box becomes 15 px
    ink = _enlarge(digit, side)
    img = _gray(1.0 - _on_paper(ink, (300, 300), int(rng.integers(20, 260)), int(rng.integers(20, 260))))
    _save(img, path, "PNG")
    return img


def thick_marker(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """Strokes about twice MNIST's width (felt marker), black on white, 280x280 L PNG."""
    ink = Image.fromarray(digit).resize((140, 140), Image.Resampling.BICUBIC).filter(ImageFilter.MaxFilter(5))
    img = Image.eval(ink.resize((280, 280), Image.Resampling.BICUBIC), lambda v: 255 - v)
    _save(img, path, "PNG")
    return img


def palette_gif(digit: np.ndarray, rng: np.random.Generator, path: Path | None = None) -> Image.Image:
    """Dark grey ink on off-white paper, 140x140, 16-colour adaptive palette (P), GIF."""
    cover = _enlarge(digit, 140)
    rgb = np.array([250, 245, 235], np.float32) * (1 - cover[..., None]) + 30.0 * cover[..., None]
    img = Image.fromarray(np.rint(rgb).astype(np.uint8), "RGB").quantize(16)
    _save(img, path, "GIF")
    return img


STYLES: dict[str, Style] = {
    "original": original,
    "inverted": inverted,
    "large_canvas": large_canvas,
    "off_centre": off_centre,
    "rgba_transparent": rgba_transparent,
    "noisy_jpeg": noisy_jpeg,
    "tiny_in_big_frame": tiny_in_big_frame,
    "thick_marker": thick_marker,
    "palette_gif": palette_gif,
}

EXTENSIONS: dict[str, str] = {name: ".png" for name in STYLES} | {
    "noisy_jpeg": ".jpg",
    "palette_gif": ".gif",
}


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two images' pixels."""
    x = a.astype(np.float64).ravel() - a.mean()
    y = b.astype(np.float64).ravel() - b.mean()
    return float(x @ y / np.sqrt((x @ x) * (y @ y)))
