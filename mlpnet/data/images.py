"""Turn the images people really have into MNIST-style 28x28 digits.

MNIST digits are light ink on a black background, size-normalised to fit a
20x20 box with anti-aliasing, then placed in a 28x28 frame so that the centre
of mass sits on the frame's centre. A phone photo, a paint-program export or a
screenshot is none of these; feeding it to a network trained on MNIST without
repeating that normalisation is what turns a 98% model into a 30% one.

The pipeline, in order (see ``to_mnist``):

1. composite transparency onto a background opposite to the ink colour;
2. convert to grayscale float in [0, 1];
3. decide the polarity (dark ink on light paper is inverted);
4. subtract a smooth, robust estimate of the background and threshold
   relative to the noise and to the ink's contrast;
5. crop to the ink's bounding box, ignoring isolated specks;
6. scale to fit ``box`` x ``box``, keeping the aspect ratio, with anti-aliasing;
7. paste into ``size`` x ``size`` shifted so the centre of mass lands on the centre;
8. rescale so the strongest ink (the brightest 35% of ink pixels) is 255.

Images already in MNIST form are detected and returned unchanged.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError, one_line

__all__ = ["load_image", "load_image_bytes", "preprocess_file", "to_mnist"]

# Larger inputs are box-downscaled first so a 12-megapixel photo costs about
# as much as a screenshot; a digit then needs to span >= ~4% of the long side.
MAX_SIDE = 512
# Below this (in [0, 1] units, ~10 grey levels) there is no ink, only paper texture.
MIN_CONTRAST = 0.04
# Residuals under max(NOISE_SIGMAS * sigma, INK_FRACTION * ink peak) are paper:
# the first term removes sensor noise, the second JPEG ringing and faint smudges.
NOISE_SIGMAS = 4.0
INK_FRACTION = 0.12
# Fraction of ink pixels driven to 255 at the end, as in MNIST (39% are >= 250);
# scaling by the single brightest pixel leaves a photo's digit ~15% dimmer than MNIST.
SATURATED_FRACTION = 0.35
# Only ink at least this strong (after thresholding, peak = 1) spans the crop box.
BOX_LEVEL = 0.2
# Luma weights of ITU-R BT.601, the ones Pillow's "L" conversion uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
"""File name endings read as images by folder datasets and by ``predict``."""

def load_image(path: str | os.PathLike[str]) -> Image.Image:
    """Open and fully decode an image file.

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG, BMP, GIF, TIFF or WebP file (anything Pillow reads).
        Multi-frame files (GIF, TIFF) give their first frame. The EXIF
        orientation of phone photos is applied.

    Returns
    -------
    PIL.Image.Image
        The decoded image in its own mode (L, LA, RGB, RGBA, P, I;16, 1, ...),
        detached from the file.

    Raises
    ------
    ImageError
        ``"<path>: <reason>"`` on one line if the file is missing, is a
        directory, is not an image, or is truncated or corrupt.
    """
    p = Path(path)
    if not p.exists():
        raise ImageError(f"{path}: no such file")
    if p.is_dir():
        raise ImageError(f"{path}: is a directory, not an image")
    return _decode(p, str(path))


def load_image_bytes(data: bytes, name: str = "<upload>") -> Image.Image:
    """Decode an image held in memory (an upload), with the checks of ``load_image``.

    Raises
    ------
    ImageError
        ``"<name>: <reason>"`` for empty, non-image, truncated or oversized data.
    """
    if not data:
        raise ImageError(f"{name}: empty, no image data")
    return _decode(io.BytesIO(data), name)


def _decode(source, path: str) -> Image.Image:
    """Open, fully decode and orient an image from a path or a binary file object."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                im.seek(0)
                im.load()
                img = ImageOps.exif_transpose(im) or im.copy()
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not a recognised image file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ImageError(f"{path}: image too large ({one_line(err)})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(f"{path}: truncated or corrupt image ({one_line(err)})") from None
    return img


def to_mnist(
    img: Image.Image, *, size: int = 28, box: int = 20, name: str = "<image>"
) -> np.ndarray:
    """Normalise an image of one digit the way MNIST was made.

    Parameters
    ----------
    img : PIL.Image.Image
        Any mode; transparent pixels are composited onto a background
        opposite to the ink colour. Dark-on-light and light-on-dark are both
        accepted (decided from the border).
    size : int
        Side of the output frame.
    box : int
        Side of the box the digit is scaled to fit, keeping its aspect ratio.
    name : str
        Used in error messages, usually the file name.

    Returns
    -------
    np.ndarray
        ``(size, size)`` uint8, light ink on black, the brightest 35% of ink
        pixels at 255 (as in MNIST), centre
        of mass within half a pixel of ``(size / 2, size / 2)`` (row, column
        index coordinates, as in MNIST). An input already in that form
        (``size`` x ``size``, dark background, ink fits ``box``, centred) is
        returned unchanged.

    Raises
    ------
    ImageError
        ``"<name>: no ink found (blank image?)"`` if nothing stands out from
        the background; ``"<name>: ..."`` for an unsupported mode.
    """
    if not 0 < box <= size:
        raise ValueError(f"need 0 < box <= size, got box={box}, size={size}")
    ready = _already_mnist(img, size, box)
    if ready is not None:
        return ready
    gray = _composite_gray(img, name)
    invert = _ink_is_dark(gray)
    if not invert and _is_mnist_like(gray, size, box):
        return np.rint(gray * 255).astype(np.uint8)
    ink = _remove_background(1.0 - gray if invert else gray, name)
    return _fit_and_centre(_crop_to_ink(ink, name), size, box)


def to_frame(img: Image.Image, *, size: int = 28, name: str = "<image>") -> np.ndarray:
    """Normalise a picture of one object the way Fashion-MNIST was made.

    Fashion-MNIST items are light on black and fill the frame: the product is cropped to
    its bounding box, scaled so its longer side is ``size`` (aspect kept) and centred.
    Steps: composite transparency, grayscale, invert if the object is darker than the
    background (judged from the border), subtract the background level, crop to what
    stands out from it, scale, centre, and stretch so the brightest pixel is 255. An
    image already ``size`` x ``size`` on a dark background is returned unchanged.

    Returns
    -------
    np.ndarray
        ``(size, size)`` uint8, light object on black.

    Raises
    ------
    ImageError
        ``"<name>: nothing stands out from the background (blank image?)"``.
    """
    gray = _composite_gray(img, name)
    if gray.shape == (size, size) and float(np.median(_border(gray))) <= 0.05:
        return np.rint(gray * 255).astype(np.uint8)
    if _ink_is_dark(gray):
        gray = 1.0 - gray
    obj = np.clip(gray - float(np.median(_border(gray))), 0.0, None)
    peak = float(_mean2x2(obj).max())
    if peak < MIN_CONTRAST:
        raise ImageError(f"{name}: nothing stands out from the background (blank image?)")
    mask = obj >= INK_FRACTION * peak
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = obj[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    k = size / max(h, w)
    nh, nw = max(1, min(size, round(h * k))), max(1, min(size, round(w * k)))
    scaled = np.clip(np.asarray(Image.fromarray(crop.astype(np.float32), "F").resize(
        (nw, nh), Image.Resampling.LANCZOS), dtype=np.float32), 0.0, None)
    out = np.zeros((size, size), dtype=np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = np.rint(scaled * (255.0 / max(float(scaled.max()), 1e-6)))
    return out


def network_image(img: Image.Image, preprocess: str, height: int, width: int, channels: int = 1, *,
                  name: str = "<image>") -> np.ndarray:
    """The uint8 image a model reads: ``(height, width)`` or ``(height, width, 3)``.

    ``preprocess`` decides: ``mnist`` (:func:`to_mnist`), ``fit`` (:func:`to_frame`), or
    ``resize`` (a plain resize to ``height`` x ``width``, gray or RGB by ``channels``).
    Called through :meth:`mlpnet.data.spec.InputSpec.image`, the one decoder behind image
    folders, ``mlpnet predict``, the server and the Python API.
    """
    if preprocess == "mnist":
        return to_mnist(img, size=height, name=name)
    if preprocess == "fit":
        return to_frame(img, size=height, name=name)
    mode = "RGB" if channels == 3 else "L"
    try:
        img = img.convert(mode)
        if (img.height, img.width) != (height, width):
            img = img.resize((width, height), resample=Image.Resampling.LANCZOS)
        return np.asarray(img, np.uint8)
    except (OSError, ValueError) as err:
        raise ImageError(f"{name}: cannot convert image ({one_line(err)})") from None


def preprocess_file(path: str | os.PathLike[str]) -> np.ndarray:
    """Load an image file and normalise it, see ``load_image`` and ``to_mnist``.

    Returns
    -------
    np.ndarray
        ``(28, 28)`` uint8, light ink on black.
    """
    return to_mnist(load_image(path), name=str(path))




def _composite_gray(img: Image.Image, name: str) -> np.ndarray:
    """Grayscale float32 ``(h, w)`` in [0, 1], transparency composited, large images shrunk."""
    img = _normalise_mode(img, name)
    w, h = img.size
    if w == 0 or h == 0:
        raise ImageError(f"{name}: image has no pixels")
    if max(w, h) > MAX_SIDE:
        k = MAX_SIDE / max(w, h)
        # BOX is exact area averaging; Pillow premultiplies alpha for LA/RGBA.
        img = img.resize((max(1, round(w * k)), max(1, round(h * k))), Image.Resampling.BOX)
    arr = np.asarray(img, dtype=np.float32)
    if img.mode == "F":
        return arr
    arr = arr / 255.0
    if arr.ndim == 2:
        return arr
    lum = arr[..., :3] @ _LUMA if arr.shape[-1] >= 3 else arr[..., 0]
    if img.mode not in ("LA", "RGBA"):
        return lum
    alpha = arr[..., -1]
    if alpha.min() >= 1.0:
        return lum
    weight = alpha.sum()
    if weight <= 0:
        raise ImageError(f"{name}: no ink found (blank image?)")
    # Dark strokes on transparency go onto white paper, light strokes onto black.
    ink_lum = float((lum * alpha).sum() / weight)
    background = 1.0 if ink_lum < 0.5 else 0.0
    return lum * alpha + background * (1.0 - alpha)


def _normalise_mode(img: Image.Image, name: str) -> Image.Image:
    """Convert to one of L, LA, RGBA or F (F scaled to [0, 1])."""
    mode = img.mode
    if mode in ("L", "LA", "RGBA") and "transparency" not in img.info:
        return img
    if mode == "RGB" and "transparency" not in img.info:
        return img.convert("L")  # BT.601 luma, in C
    if "transparency" in img.info or mode in ("PA", "RGBa", "RGBX"):
        return img.convert("RGBA")
    if mode in ("1", "P"):
        return img.convert("L")
    if mode == "La":
        return img.convert("LA")
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(img, dtype=np.float32)
        if arr.ndim != 2:
            raise ImageError(f"{name}: unsupported image mode {mode}")
        top = float(arr.max()) if arr.size else 0.0
        scale = 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
        if mode == "F" and top <= 1.0:
            scale = 1.0
        return Image.fromarray(np.clip(arr / scale, 0.0, 1.0).astype(np.float32), "F")
    try:
        return img.convert("L")
    except (ValueError, OSError):
        raise ImageError(f"{name}: unsupported image mode {mode}") from None


def _border(a: np.ndarray) -> np.ndarray:
    """The pixels of a frame ~2% of the shorter side wide around ``a``, flattened."""
    bw = max(1, min(a.shape) // 50)
    return np.concatenate(
        [a[:bw].ravel(), a[-bw:].ravel(), a[bw:-bw, :bw].ravel(), a[bw:-bw, -bw:].ravel()]
    )


def _mean2x2(a: np.ndarray) -> np.ndarray:
    """Mean over each 2x2 window; damps single-pixel noise but keeps 2-px strokes."""
    if min(a.shape) < 2:
        return a
    return 0.25 * (a[:-1, :-1] + a[1:, :-1] + a[:-1, 1:] + a[1:, 1:])


def _ink_is_dark(gray: np.ndarray) -> bool:
    """True if the ink is darker than the background (paper), so the image needs inverting.

    The border median estimates the background; the ink lies on whichever side
    of it the image reaches further. This is relative, so dim photos of paper
    (background ~0.4) and grey-on-grey drawings are judged correctly.
    """
    bg = float(np.median(_border(gray)))
    smooth = _mean2x2(gray)
    below, above = bg - float(smooth.min()), float(smooth.max()) - bg
    if np.isclose(below, above):
        return bg > 0.5
    return below > above


def _already_mnist(img: Image.Image, size: int, box: int) -> np.ndarray | None:
    """``to_mnist(img)`` for an 8-bit grayscale image it would return unchanged, decided cheaply; else None.

    The common case of a server (a digit already in MNIST form) in a fifth of the time. For
    such an image the border's median is 0, which settles the polarity test (ink is not
    dark: nothing lies below 0) and the first checks of :func:`_is_mnist_like`; its other
    thresholds are the same comparisons on the same float32 values (``gray > 0.02`` is
    ``a >= 6``, ``gray >= 0.5`` is ``a >= 128``). Anything else (another mode, size or
    border) returns None and takes the full path, so the answer is always the full path's.
    """
    if img.mode != "L" or img.size != (size, size) or "transparency" in img.info:
        return None
    a = np.asarray(img)
    border = _border(a)
    # The median of the border is 0 exactly when its middle element, sorted, is 0.
    if np.count_nonzero(border) > border.size - border.size // 2 - 1 or a.max() < 128:
        return None
    if not _ink_fits_centred(a.astype(np.float32) / 255.0, size, box):
        return None
    return a.copy()


def _is_mnist_like(gray: np.ndarray, size: int, box: int) -> bool:
    """True for a ``size`` x ``size`` light-on-black image whose ink fits ``box`` and is centred."""
    if gray.shape != (size, size) or float(np.median(_border(gray))) > 0.05:
        return False
    if gray.max() < 0.5:
        return False
    return _ink_fits_centred(gray, size, box)


def _ink_fits_centred(gray: np.ndarray, size: int, box: int) -> bool:
    """The rest of :func:`_is_mnist_like`: the ink (> 0.02) fits ``box`` and its centre of mass is the frame's."""
    ink = np.where(gray > 0.02, gray, 0.0)
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if rows[-1] - rows[0] + 1 > box or cols[-1] - cols[0] + 1 > box:
        return False
    cy, cx = _centre_of_mass(ink)
    return abs(cy - size / 2) <= 1.0 and abs(cx - size / 2) <= 1.0


def _background_map(x: np.ndarray) -> np.ndarray:
    """Smooth estimate of the paper level of ``x`` (ink bright), shape of ``x``.

    Blocks of a quarter of the shorter side each give their 25th percentile
    (right as long as ink covers < 75% of the block). A block still far above
    the median of its 3x3 neighbourhood (> 30% of the ink contrast: it sits
    inside a thick stroke) is pulled down to that median; smaller steps are
    kept as lighting. The grid is extended linearly by one block on each side
    and interpolated bilinearly, so a lighting gradient carries on to the edges.
    """
    h, w = x.shape
    if min(h, w) < 64:
        return np.full_like(x, np.median(_border(x)))
    # Percentiles are taken on every other row and column: a quarter of the work.
    sub = x[::2, ::2]
    b = max(8, min(sub.shape) // 4)
    s = 2 * b
    ny, nx = -(-sub.shape[0] // b), -(-sub.shape[1] // b)
    padded = np.pad(sub, ((0, ny * b - sub.shape[0]), (0, nx * b - sub.shape[1])), mode="symmetric")
    blocks = padded.reshape(ny, b, nx, b).transpose(0, 2, 1, 3).reshape(ny, nx, b * b)
    k = b * b // 4
    grid = np.partition(blocks, k, axis=-1)[..., k]
    g = np.pad(grid, 1, mode="edge")
    med = np.median(np.stack([g[i : i + ny, j : j + nx] for i in range(3) for j in range(3)]), axis=0)
    contrast = float(_mean2x2(x).max()) - float(np.median(grid))
    grid = np.where(grid - med > 0.3 * contrast, med, grid)
    # A solid shape filling most of the picture leaves no paper in its blocks nor their neighbours:
    # the paper's level cannot exceed what the border shows (plus the border's own lighting spread).
    border = _border(x)
    lo, mid, hi = np.percentile(border, [10, 50, 90])
    grid = np.minimum(grid, mid + max(MIN_CONTRAST, float(hi - lo)))
    grid = np.pad(grid, 1, mode="reflect", reflect_type="odd") if min(ny, nx) > 1 else np.pad(grid, 1, mode="edge")
    up = Image.fromarray(grid.astype(np.float32), "F").resize(
        (w, h), Image.Resampling.BILINEAR, box=(1.0, 1.0, 1.0 + w / s, 1.0 + h / s)
    )
    return np.asarray(up, dtype=np.float32)


def _remove_background(x: np.ndarray, name: str) -> np.ndarray:
    """Ink strength in [0, 1] from ``x`` (ink bright): background subtracted, noise zeroed."""
    d = x - _background_map(x)
    sample = d[::2, ::2] if d.size > 4096 else d
    med = np.median(sample)
    sigma = 1.4826 * float(np.median(np.abs(sample - med)))  # robust noise std (MAD)
    # Ink covering half the picture inflates that estimate; the border is mostly paper.
    edge = _border(d)
    sigma = min(sigma, 1.4826 * float(np.median(np.abs(edge - np.median(edge)))))
    peak = float(_mean2x2(d).max())
    if peak < max(MIN_CONTRAST, 2 * NOISE_SIGMAS * sigma):
        raise ImageError(f"{name}: no ink found (blank image?)")
    t = max(NOISE_SIGMAS * sigma, INK_FRACTION * peak)
    # Soft threshold: faint residue goes to 0, the ink's anti-aliased edges stay graded.
    return np.clip((d - t) / (peak - t), 0.0, 1.0)


def _crop_to_ink(ink: np.ndarray, name: str) -> np.ndarray:
    """Crop to the ink's bounding box; isolated specks and faint residue are left out of it.

    Specks are pixels with fewer than two inked neighbours and are zeroed. The
    box itself is spanned by pixels at least ``BOX_LEVEL`` strong, so a faint
    halo of imperfect background removal cannot stretch it.
    """
    m = ink > 0
    p = np.pad(m, 1).astype(np.uint8)
    h, w = m.shape
    count = sum(p[i : i + h, j : j + w] for i in range(3) for j in range(3))
    keep = m & (count >= 3)  # itself + 2 neighbours
    strong = keep & (ink >= BOX_LEVEL)
    rows, cols = np.flatnonzero(strong.any(1)), np.flatnonzero(strong.any(0))
    if rows.size == 0:
        raise ImageError(f"{name}: no ink found (blank image?)")
    sl = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.where(keep[sl], ink[sl], 0.0).astype(np.float32)


def _centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted (row, column) centre of a non-empty 2-D array."""
    total = float(a.sum())
    cy = float(a.sum(1) @ np.arange(a.shape[0])) / total
    cx = float(a.sum(0) @ np.arange(a.shape[1])) / total
    return cy, cx


def _fit_and_centre(crop: np.ndarray, size: int, box: int) -> np.ndarray:
    """Scale ``crop`` to fit ``box`` (aspect kept), centre by mass in ``size`` x ``size``, as uint8."""
    h, w = crop.shape
    k = box / max(h, w)
    nh, nw = max(1, round(h * k)), max(1, round(w * k))
    # LANCZOS on the float image: anti-aliased when shrinking, sharp when enlarging.
    scaled = Image.fromarray(crop, "F").resize((nw, nh), Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(scaled, dtype=np.float32), 0.0, None)
    if digit.max() <= 0:
        digit = np.ones_like(digit)
    # "Strongest ink" is a quantile, not the single brightest pixel: MNIST's
    # strokes have a saturated core, 39% of its ink pixels are >= 250.
    strongest = float(np.quantile(digit[digit > 0.05 * digit.max()], 1.0 - SATURATED_FRACTION))
    digit = np.rint(np.clip(digit * (255.0 / strongest), 0.0, 255.0)).astype(np.uint8)
    # MNIST moved the digit by whole pixels so its centre of mass rounds to size/2;
    # measured on the final uint8 values so the output's own centre obeys it.
    cy, cx = _centre_of_mass(digit.astype(np.float64))
    top = min(max(round(size / 2 - cy), 0), size - nh)
    left = min(max(round(size / 2 - cx), 0), size - nw)
    out = np.zeros((size, size), dtype=np.uint8)
    out[top : top + nh, left : left + nw] = digit
    return out
