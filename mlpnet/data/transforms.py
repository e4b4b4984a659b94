"""Input transforms: what turns stored values into network inputs, fitted on training data only.

Images are stored as uint8 and scaled by 1/255 one batch at a time (see ``batching``);
tabular features are standardized. A checkpoint stores the transform (``input.mean``,
``input.std``), so a trained model applies exactly the same one to new raw inputs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from .dataset import Dataset


@dataclass
class Standardizer:
    """Per-feature standardization ``(x - mean) / std``, fitted on the training split only.

    Attributes
    ----------
    mean, std : ndarray of float32, shape (d,)
        Stored in the checkpoint as two arrays; ``std`` is never 0.
    """

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float32)
        self.std = np.asarray(self.std, dtype=np.float32)
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise ValueError(f"mean and std must be 1-D of equal length, got {self.mean.shape} and {self.std.shape}")

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        """Fit to training features ``x`` of shape (n, d); a constant column gets std 1."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"x must be a non-empty (n, d) array, got shape {x.shape}")
        # float64 accumulation: float32 sums over ~1e5 rows lose digits.
        if x.dtype.kind == "f" and np.isnan(x).any():
            # Missing values (data.missing: mean) are left out of the statistics, then filled by apply.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: mean 0, std 1
                mean = np.nan_to_num(np.nanmean(x, axis=0, dtype=np.float64))
                std = np.nan_to_num(np.nanstd(x, axis=0, dtype=np.float64))
        else:
            mean = x.mean(axis=0, dtype=np.float64)
            std = x.std(axis=0, dtype=np.float64)
        std[std == 0] = 1.0
        return cls(mean, std)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Standardize ``x`` of shape (n, d) in place if it is float32, else a float32 copy; NaN becomes 0."""
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"x must have shape (n, {self.mean.shape[0]}), got {x.shape}")
        out = x if x.dtype == np.float32 and x.flags.writeable else x.astype(np.float32)
        out -= self.mean
        out /= self.std
        # A missing value (NaN) takes the training mean, which is 0 once standardized.
        np.nan_to_num(out, copy=False, nan=0.0)
        return out

    def __repr__(self) -> str:
        return f"Standardizer(features={self.mean.shape[0]})"


def standardize(ds: Dataset, stats: dict[str, np.ndarray] | None = None) -> None:
    """Standardize every split of a tabular dataset in place, with ``stats`` or statistics
    fitted on its training split; records them in ``ds.stats``."""
    if stats is None:
        fitted = Standardizer.fit(ds.train.x)
        stats = {"mean": fitted.mean, "std": fitted.std}
    elif stats["mean"].shape != (ds.n_features,):
        raise DataError(f"the data has {ds.n_features} features but the model was trained on {stats['mean'].shape[0]}")
    scaler = Standardizer(stats["mean"], stats["std"])
    for part in (ds.train, ds.val, ds.test):
        if part is not None:
            part.x = scaler.apply(part.x)
    ds.stats = stats


def raw_to_input(x: np.ndarray, info: dict, stats: dict[str, np.ndarray], scale: float, dtype=np.float32) -> np.ndarray:
    """Network inputs ``(n, n_features)`` from raw rows in the training data's own form.

    Parameters
    ----------
    x : ndarray (n, n_features) or (n, h, w[, c])
        Pixels 0-255 for image models; unscaled feature columns for tabular models.
    info : dict
        The checkpoint's input format (``kind``, ``height``, ...).
    stats : dict
        The checkpoint's stored standardization (tabular models), else empty.
    scale : float
        Factor from stored values to inputs (1/255 for images).
    """
    x = np.asarray(x)
    if x.ndim > 2:
        x = x.reshape(len(x), -1)
    if x.ndim != 2:
        raise DataError(f"inputs must be a 2-D array (n_samples, n_features), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DataError(f"inputs must be numeric, got dtype {x.dtype}")
    out = x.astype(dtype, copy=True)
    if info.get("kind") == "tabular" and stats:
        return Standardizer(stats["mean"], stats["std"]).apply(out)
    if scale != 1.0:
        out *= dtype(scale)
    return out
