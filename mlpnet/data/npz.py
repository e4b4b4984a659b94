"""``.npz`` datasets (``data.dataset: npz``): arrays ``x_train, y_train, x_test, y_test``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from ..fileio import sniff
from .dataset import Dataset, image_dataset

if TYPE_CHECKING:
    from ..config import DataConfig


def load(cfg: DataConfig, seed: int, *, classes: list[str] | None = None, progress: bool = False,
         like: dict | None = None) -> Dataset:
    """The dataset in the ``.npz`` file ``data.path``."""
    return read_npz(Path(cfg.path))


def read_npz(path: Path) -> Dataset:
    """An ``.npz`` with ``x_train, y_train, x_test, y_test``; images (n,28,28) or (n,784)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if sniff(path) != "npz":
        raise DataError(f"{path}: not an .npz file (expected arrays x_train, y_train, x_test, y_test)")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as err:
        raise DataError(f"{path}: cannot read: {err}") from None
    except Exception as err:  # zipfile.BadZipFile, EOFError, OSError: truncated or not an npz
        raise DataError(f"{path}: not a readable .npz file ({type(err).__name__}: {err})") from None
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise DataError(f"{path}: missing array(s) {', '.join(missing)} (has {', '.join(sorted(arrays)) or 'none'})")
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if len(x) != len(y):
            raise DataError(f"{path}: x_{part} has {len(x)} samples but y_{part} has {len(y)}")
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{path}: y_{part} must be a 1-D integer array, got {y.dtype} {y.shape}")
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
            raise DataError(f"{path}: x_{part} must be numeric, got {x.dtype}")
    x_tr, x_te = arrays["x_train"], arrays["x_test"]
    if x_tr.shape[1:] != x_te.shape[1:]:
        raise DataError(f"{path}: x_train samples have shape {x_tr.shape[1:]} but x_test samples {x_te.shape[1:]}")
    if x_tr.ndim == 2 and x_tr.shape[1] == 784:
        x_tr, x_te = x_tr.reshape(-1, 28, 28), x_te.reshape(-1, 28, 28)
    if x_tr.ndim != 3:
        raise DataError(f"{path}: images must be (n, 28, 28) or (n, 784), got x_train {x_tr.shape}")
    if x_tr.dtype == np.uint8:
        return image_dataset(x_tr, arrays["y_train"], x_te, arrays["y_test"], None, path)
    # Float images are taken as already scaled to [0, 1]; 0-255 floats would train badly.
    for name, x in (("x_train", x_tr), ("x_test", x_te)):
        if x.size and (not np.isfinite(x).all() or x.min() < 0 or x.max() > 1):
            raise DataError(f"{path}: {name} holds floats outside [0, 1] (from {x.min():g} to {x.max():g}); "
                            "scale them to [0, 1] or store uint8 pixels 0-255")
    ds = image_dataset(x_tr.astype(np.float32), arrays["y_train"], x_te.astype(np.float32),
                        arrays["y_test"], None, path)
    ds.scale = 1.0
    return ds


