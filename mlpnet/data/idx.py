"""Reading IDX files (the MNIST container format), raw or gzip-compressed.

An IDX file is a 4-byte magic ``00 00 <type> <ndim>``, then ``ndim`` big-endian
uint32 dimensions, then ``prod(dims)`` big-endian items of ``<type>``. Every
failure is a one-line :class:`~mlpnet.errors.DataError` that names the file.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import DataError, one_line

__all__ = ["read_idx", "read_idx_pair", "write_idx"]

# Type codes from the IDX spec; 0x0A is unassigned. All multi-byte types are big-endian.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file, gzip-compressed or raw.

    Compression is detected from the first two bytes (``1f 8b``), not the name.

    Parameters
    ----------
    path : str or PathLike
        The file to read.

    Returns
    -------
    np.ndarray
        Array of shape ``dims`` as declared in the header, in native byte order
        (e.g. ``(60000, 28, 28)`` uint8 for images, ``(60000,)`` uint8 for labels).

    Raises
    ------
    DataError
        The file is missing, not IDX, declares an unknown type, is truncated, has
        trailing bytes, or is a corrupt gzip stream. The message names the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not compressed:
                return _parse(raw, path)
            try:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _parse(stream, path)
            except (OSError, EOFError, zlib.error) as err:
                raise DataError(f"{path}: corrupt gzip stream: {one_line(err)}") from err
    except DataError:
        raise
    except FileNotFoundError as err:
        raise DataError(f"{path}: no such file") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read: {one_line(err)}") from err


def read_idx_pair(
    images_path: str | os.PathLike[str], labels_path: str | os.PathLike[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file and its labels file and check that they belong together.

    Parameters
    ----------
    images_path, labels_path : str or PathLike
        IDX files holding uint8 images and integer labels.

    Returns
    -------
    x : np.ndarray
        uint8 images of shape ``(N, ...)``, e.g. ``(N, 28, 28)``.
    y : np.ndarray
        int64 labels of shape ``(N,)``.

    Raises
    ------
    DataError
        Either file is unreadable, has the wrong rank or type, or the counts differ.
    """
    x = read_idx(images_path)
    y = read_idx(labels_path)
    if x.ndim < 2:
        raise DataError(f"{images_path}: expected images with at least 2 dimensions, found shape {x.shape}")
    if x.dtype != np.uint8:
        raise DataError(f"{images_path}: expected uint8 pixels, found {x.dtype}")
    if y.ndim != 1:
        raise DataError(f"{labels_path}: expected 1-dimensional labels, found shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise DataError(f"{labels_path}: expected integer labels, found {y.dtype}")
    if len(x) != len(y):
        raise DataError(f"{labels_path}: holds {len(y)} labels but {images_path} holds {len(x)} images")
    return x, y.astype(np.int64)


def _parse(stream: BinaryIO, path: Path) -> np.ndarray:
    """Parse header and payload from an open binary stream."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(magic)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", magic)
    if zero != 0:
        raise DataError(f"{path}: not an IDX file: bad magic {magic.hex(' ')}")
    if code not in IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{code:02x} (valid: 0x08, 0x09, 0x0b..0x0e)")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header = stream.read(4 * ndim)
    if len(header) < 4 * ndim:
        raise DataError(f"{path}: truncated header: expected {ndim} dimensions, found {len(header) // 4}")
    dims = struct.unpack(f">{ndim}I", header)
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    payload = _read_at_most(stream, expected + 1)
    what = "labels" if ndim == 1 else "pixels" if code == 0x08 else "data"
    if len(payload) < expected:
        raise DataError(
            f"{path}: truncated: expected {expected} bytes of {what} for shape {dims}, found {len(payload)}"
        )
    if len(payload) > expected:
        raise DataError(f"{path}: trailing bytes after the {expected} bytes of {what} for shape {dims}")
    # frombuffer over the bytearray is a writable view, so native types cost no copy.
    array = np.frombuffer(payload, dtype=dtype).reshape(dims)
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    return array


def _read_at_most(stream: BinaryIO, limit: int) -> bytearray:
    """Read up to ``limit`` bytes in chunks, so a lying header cannot force a huge allocation."""
    buffer = bytearray()
    while len(buffer) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer




def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    The inverse of :func:`read_idx` for the MNIST layout (images ``(n, h, w)``, labels
    ``(n,)``), e.g. to turn your own arrays into an ``idx`` dataset folder.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)
