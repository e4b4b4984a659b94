"""Random geometric augmentation of grayscale image batches, vectorized and in place.

Each training image gets its own random affine transform: a shift of whole pixels, a
small rotation, a small change of scale and optionally a mirror image, all drawn from the
run's one ``np.random.Generator`` (so a run, its resume and a second run with the same
seed see the same images). The batch is resampled by inverse mapping: every output pixel
asks where it comes from in its source image and reads it there, with black (0) outside
the frame. There is no per-image Python loop: the source coordinates of all
``n * h * w`` pixels are a few passes over one ``(n, h * w)`` buffer, and the pixel
reads are one ``np.take`` from a zero-padded copy of the batch. Buffers are allocated
once for the largest batch.

Rotation and scaling read the nearest source pixel (``interpolation="nearest"``, the
default, as in torchvision's ``RandomRotation`` and ``RandomAffine``), or interpolate
bilinearly between the four around it (``"bilinear"``: smoother images, 3 to 4 times the
cost at batches of 256; the one ``np.take`` then fetches all four neighbours at once).
A transform with whole-pixel shifts only (no rotation or scaling) needs neither; it
takes a cheaper path with precomputed coordinates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError
from .dataset import Dataset

if TYPE_CHECKING:  # config imports the data registries, so only for the annotation
    from ..config import AugmentConfig

INTERPOLATIONS = ("nearest", "bilinear")
"""How rotated and scaled images are sampled (``data.augment.interpolation``)."""


class Augmenter:
    """Random shift, rotation, scaling and mirroring of flattened images ``x (n, h * w)``.

    Parameters
    ----------
    height, width : int
        Image size; rows of a batch are images flattened row by row.
    capacity : int
        Largest batch.
    shift : int
        Largest shift in pixels, along each axis independently (uniform over
        ``-shift..shift``).
    rotate : float
        Largest rotation in degrees (uniform in ``[-rotate, rotate]``).
    scale : float
        Largest relative change of size (uniform factor in ``[1 - scale, 1 + scale]``).
    hflip : bool
        Mirror each image left-right with probability 1/2.
    interpolation : {"nearest", "bilinear"}
        How rotated and scaled images are sampled.
    dtype : numpy dtype
        Dtype of the batches.
    """

    def __init__(self, height: int, width: int, capacity: int, *, shift: int = 0, rotate: float = 0.0,
                 scale: float = 0.0, hflip: bool = False, interpolation: str = "nearest", dtype=np.float32):
        if interpolation not in INTERPOLATIONS:
            raise ConfigError(f"data.augment.interpolation: unknown {interpolation!r}; "
                              f"choose one of {', '.join(INTERPOLATIONS)}")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.shift, self.rotate, self.scale, self.hflip = int(shift), float(rotate), float(scale), bool(hflip)
        self.dtype = np.dtype(dtype)
        self.affine = bool(self.rotate or self.scale)
        bilinear = self.affine and interpolation == "bilinear"
        h, w, n = self.height, self.width, int(capacity)
        # The padded frame has a border of zeros as wide as the largest shift (at least
        # one pixel): a whole-pixel shift never reads outside it, and the source positions
        # of the affine path are clipped onto it. Either way, outside the image is black.
        self._border = bd = max(1, self.shift)
        self._pw = pw = w + 2 * bd
        self._pad = None if bilinear else np.zeros((n, h + 2 * bd, pw), self.dtype)
        self._row_off = np.arange(n) * (h + 2 * bd) * pw
        rows, cols = np.divmod(np.arange(h * w), w)
        # Output pixel coordinates relative to the image centre.
        self._u = (cols - (w - 1) / 2).astype(self.dtype)
        self._v = (rows - (h - 1) / 2).astype(self.dtype)
        # Index of each pixel in the padded frame, plain and mirrored (whole-pixel path).
        self._base = (rows + bd) * pw + cols + bd
        self._base_flip = (rows + bd) * pw + (w - 1 - cols) + bd
        self._idx = np.empty((n, h * w), np.intp)
        if self.affine:
            self._sx = np.empty((n, h * w), self.dtype)
            self._sy = np.empty((n, h * w), self.dtype)
        if bilinear:
            self._fx = np.empty((n, h * w), self.dtype)
            self._a = np.empty((n, h * w), self.dtype)
            self._quads = np.zeros((n, h + 2 * bd, pw, 4), self.dtype)
            self._q = np.empty((n, h * w, 4), self.dtype)
            self._void = np.dtype(f"V{4 * self.dtype.itemsize}")

    @property
    def active(self) -> bool:
        """Whether any transform is switched on."""
        return bool(self.shift or self.affine or self.hflip)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> None:
        """Replace every image of the batch ``x (n, h * w)`` by a randomly transformed copy."""
        n = x.shape[0]
        # One draw of the same shape whatever is switched on: columns are the x and y
        # shifts, the angle, the scale and the mirror coin.
        r = rng.random((n, 5))
        shifts = np.floor(r[:, :2] * (2 * self.shift + 1)) - self.shift      # integers in -shift..shift
        flip = r[:, 4] < 0.5 if self.hflip else np.zeros(n, bool)
        if not self.affine:
            self._shift_only(x, self._padded(x), shifts, flip)
            return
        angle = np.radians(self.rotate) * (2 * r[:, 2] - 1)
        factor = 1.0 + self.scale * (2 * r[:, 3] - 1)
        self._source_positions(n, shifts, flip, angle, factor)
        if self.interpolation == "nearest":
            self._nearest(x)
        else:
            self._bilinear(x)

    def _padded(self, x) -> np.ndarray:
        """The batch copied into the middle of its zero-bordered frame, flattened."""
        n, bd = x.shape[0], self._border
        pad = self._pad[:n]
        pad[:, bd:bd + self.height, bd:bd + self.width] = x.reshape(n, self.height, self.width)
        return pad.reshape(-1)

    def _shift_only(self, x, src, shifts, flip) -> None:
        """Whole-pixel shifts (and mirroring): each output pixel copies one source pixel."""
        n = x.shape[0]
        idx = self._idx[:n]
        # The output pixel (r, c) reads the source at (r - dy, c - dx), inside the border.
        offset = self._row_off[:n] - (shifts[:, 1] * self._pw + shifts[:, 0]).astype(np.intp)
        base = np.where(flip[:, None], self._base_flip, self._base) if self.hflip else self._base
        np.add(base, offset[:, None], out=idx)
        np.take(src, idx, out=x, mode="clip")

    def _source_positions(self, n, shifts, flip, angle, factor) -> None:
        """Where each output pixel reads, out(p) = in(c + R(-angle) (p - c) / factor - shift).

        Fills ``sx`` and ``sy`` with the source column and row of every output pixel,
        clipped onto the one-pixel zero border around the image (-1 .. w, -1 .. h).
        """
        h, w = self.height, self.width
        sx, sy = self._sx[:n], self._sy[:n]
        cos = (np.cos(angle) / factor).astype(self.dtype)
        sin = (np.sin(angle) / factor).astype(self.dtype)
        mirror = np.where(flip, -1.0, 1.0).astype(self.dtype)
        cx = ((w - 1) / 2 - shifts[:, 0]).astype(self.dtype)
        cy = ((h - 1) / 2 - shifts[:, 1]).astype(self.dtype)
        cols, rows = self._u[:w], self._v[::w]
        # Source column sx = cos (m u) + sin v + cx and row sy = -sin (m u) + cos v + cy
        # (m = -1 mirrors), each the sum of a term of the column and a term of the row: one
        # broadcast add of two (n, w) and (n, h) tables per coordinate.
        np.add((sin[:, None] * rows + cx[:, None])[:, :, None], ((cos * mirror)[:, None] * cols)[:, None, :],
               out=sx.reshape(n, h, w))
        np.add((cos[:, None] * rows + cy[:, None])[:, :, None], ((-sin * mirror)[:, None] * cols)[:, None, :],
               out=sy.reshape(n, h, w))
        np.clip(sx, -1, w, out=sx)
        np.clip(sy, -1, h, out=sy)

    def _gather_index(self, n, col, row) -> np.ndarray:
        """Flat index into the padded batch of the whole-number positions ``col``, ``row`` (overwritten).

        The positions are small whole numbers, exact in float32, made integers before
        adding each image's offset.
        """
        bd, idx = self._border, self._idx[:n]
        row += bd
        row *= self._pw
        col += bd
        col += row
        np.copyto(idx, col, casting="unsafe")
        idx += self._row_off[:n, None]
        return idx

    def _nearest(self, x) -> None:
        """Each output pixel copies the source pixel nearest to its source position."""
        n = x.shape[0]
        sx, sy = self._sx[:n], self._sy[:n]
        src = self._padded(x)
        np.rint(sx, out=sx)
        np.rint(sy, out=sy)
        np.take(src, self._gather_index(n, sx, sy), out=x, mode="clip")

    def _bilinear(self, x) -> None:
        """Each output pixel interpolates bilinearly between the four source pixels around its position."""
        n = x.shape[0]
        h, w, bd = self.height, self.width, self._border
        sx, sy, fx, a = self._sx[:n], self._sy[:n], self._fx[:n], self._a[:n]
        quads = self._quads[:n]
        # The four neighbours (p, right, below, below-right) of every padded position, side
        # by side: one np.take of 16-byte items then reads all four at once, about as fast
        # as one take of single pixels and four times faster than four of them. Positions
        # never written stay 0 (black) from the allocation.
        img = x.reshape(n, h, w)
        for k, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            quads[:, bd - dy:bd - dy + h, bd - dx:bd - dx + w, k] = img
        # Split each position into its top-left neighbour and the fractions.
        np.floor(sx, out=a)
        np.minimum(a, w - 1, out=a)
        np.subtract(sx, a, out=fx)            # column fraction
        np.floor(sy, out=sx)
        np.minimum(sx, h - 1, out=sx)
        np.subtract(sy, sx, out=sy)           # row fraction
        idx = self._gather_index(n, a, sx)
        q = self._q[:n]
        np.take(quads.reshape(-1, 4).view(self._void).reshape(-1), idx, out=q.view(self._void).reshape(n, h * w),
                mode="clip")
        p00, p01, p10, p11 = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
        # top = p00 + fx (p01 - p00), bottom = p10 + fx (p11 - p10), out = top + fy (bottom - top)
        np.subtract(p01, p00, out=a)
        a *= fx
        a += p00
        np.subtract(p11, p10, out=x)
        x *= fx
        x += p10
        x -= a
        x *= sy
        x += a

    def __repr__(self) -> str:
        return (f"Augmenter(shift={self.shift}, rotate={self.rotate}, scale={self.scale}, hflip={self.hflip}, "
                f"interpolation={self.interpolation!r}, size={self.height}x{self.width})")



def from_config(cfg: AugmentConfig, ds: Dataset, batch_size: int, dtype=np.float32) -> Augmenter | None:
    """The ``Augmenter`` that ``data.augment`` describes for this dataset's images, or None if it is off."""
    if not cfg.active:
        return None
    info = ds.input
    if info.kind != "image" or info.channels != 1 or info.height * info.width != ds.n_features:
        raise ConfigError(f"data.augment: needs grayscale images, and this dataset is {info.kind}"
                          f"{' in colour' if info.channels != 1 else ''}; remove data.augment")
    return Augmenter(info.height, info.width, batch_size, shift=cfg.shift, rotate=cfg.rotate, scale=cfg.scale,
                     hflip=cfg.hflip, interpolation=cfg.interpolation, dtype=dtype)
