"""Datasets as compact arrays, validation splits, and batch assembly.

Images stay uint8 in memory (a 60k x 784 set is 47 MB) and are converted to floats one
batch at a time into a preallocated buffer; tabular features are stored standardized as
float32. Every split is ``x (n, n_features)`` with integer labels ``y (n,)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import owndata, sources
from .config import DataConfig
from .errors import DataError
from .fileio import sniff
from .splits import MNIST_INPUT, Dataset, Split
from .tabular import Standardizer

MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
NAMED_CLASSES = {"mnist": MNIST_CLASSES, "fashion-mnist": FASHION_CLASSES}

def load(cfg: DataConfig, seed: int, *, progress: bool = True, classes: list[str] | None = None,
         stats: dict[str, np.ndarray] | None = None) -> Dataset:
    """Load the dataset a config names and hold out its validation split.

    Parameters
    ----------
    cfg : DataConfig
        The ``data`` section of a run config.
    seed : int
        Run seed; the validation split depends on it alone.
    classes : list of str, optional
        Class names of a trained model: labels are encoded to match them (CSV data).
    stats : dict, optional
        A trained model's feature statistics (``mean``, ``std``), applied instead of
        statistics fitted on this data's training split.
    """
    kind = cfg.dataset
    if kind in NAMED_CLASSES:
        x_tr, y_tr, x_te, y_te = sources.load_named(kind, cfg.path, download=cfg.download, progress=progress)
        ds = _image_dataset(x_tr, y_tr, x_te, y_te, NAMED_CLASSES[kind], kind)
        if kind == "fashion-mnist":
            ds.input["preprocess"] = "fit"  # products fill the frame; see preprocess.to_frame
    elif kind == "idx":
        x_tr, y_tr, x_te, y_te = sources.load_idx_dir(Path(cfg.path))
        ds = _image_dataset(x_tr, y_tr, x_te, y_te, None, cfg.path)
    elif kind == "npz":
        ds = _load_npz(Path(cfg.path))
    else:
        ds = owndata.load(cfg, seed, classes=classes)
    ds.train, ds.val = split_validation(ds.train, cfg.val_size, seed, where="data.val_size")
    if ds.input["kind"] == "tabular":
        _standardize(ds, stats)
    return ds


def _standardize(ds: Dataset, stats: dict[str, np.ndarray] | None) -> None:
    """Scale features to zero mean, unit variance with statistics of the training split only."""
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


def split_validation(train: Split, val_size: int | float, seed: int, where: str = "val_size") -> tuple[Split, Split | None]:
    """Hold out ``val_size`` samples (a count, or a fraction if < 1) drawn from ``seed``.

    The split uses its own stream of the seed, so it is the same for a run, its resume,
    and ``evaluate --split val``, whatever else consumes random numbers.
    """
    n = len(train)
    n_val = int(round(val_size * n)) if isinstance(val_size, float) and val_size < 1 else int(val_size)
    if n_val == 0:
        return train, None
    if n_val >= n:
        raise DataError(f"{where}: {val_size} leaves no training samples (the training set has {n})")
    order = np.random.default_rng(split_seed(seed)).permutation(n)
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    return Split(train.x[train_idx], train.y[train_idx]), Split(train.x[val_idx], train.y[val_idx])


def split_seed(seed: int) -> np.random.SeedSequence:
    """The seed stream reserved for data splits."""
    return np.random.SeedSequence([seed, 1])


def train_seed(seed: int) -> np.random.SeedSequence:
    """The seed stream for initialisation, shuffling and dropout."""
    return np.random.SeedSequence([seed, 0])


def _image_dataset(x_tr, y_tr, x_te, y_te, classes, where) -> Dataset:
    """Wrap uint8 image arrays (n, h, w) as flat splits with MNIST-style input metadata."""
    if classes is None:
        labels = np.union1d(np.unique(y_tr), np.unique(y_te))
        if labels.min() < 0:
            raise DataError(f"{where}: labels must be non-negative integers")
        classes = [str(i) for i in range(int(labels.max()) + 1)]
    _check_labels(y_tr, len(classes), where)
    _check_labels(y_te, len(classes), where)
    h, w = x_tr.shape[1], x_tr.shape[2]
    info = dict(MNIST_INPUT, height=h, width=w)
    if (h, w) != (28, 28):
        info["preprocess"] = "resize"
    return Dataset(train=Split(_flat(x_tr), y_tr.astype(np.int64)), val=None,
                   test=Split(_flat(x_te), y_te.astype(np.int64)),
                   classes=list(classes), input=info, scale=1.0 / 255.0)


def _load_npz(path: Path) -> Dataset:
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
        return _image_dataset(x_tr, arrays["y_train"], x_te, arrays["y_test"], None, path)
    # Float images are taken as already scaled to [0, 1]; 0-255 floats would train badly.
    for name, x in (("x_train", x_tr), ("x_test", x_te)):
        if x.size and (not np.isfinite(x).all() or x.min() < 0 or x.max() > 1):
            raise DataError(f"{path}: {name} holds floats outside [0, 1] (from {x.min():g} to {x.max():g}); "
                            "scale them to [0, 1] or store uint8 pixels 0-255")
    ds = _image_dataset(x_tr.astype(np.float32), arrays["y_train"], x_te.astype(np.float32),
                        arrays["y_test"], None, path)
    ds.scale = 1.0
    return ds


def _flat(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(len(x), -1))


def _check_labels(y: np.ndarray, n_classes: int, where) -> None:
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{where}: labels must lie in 0..{n_classes - 1}, found {int(y.min())}..{int(y.max())}")


class Batcher:
    """Assembles float batches from a split into buffers allocated once.

    Parameters
    ----------
    split : Split
        Source rows (uint8 or float32).
    scale : float
        Multiplier from stored values to network inputs.
    batch_size : int
        Largest batch; a last, smaller batch is a view of the same buffers.
    dtype : numpy dtype
        Network dtype.
    """

    def __init__(self, split: Split, scale: float, batch_size: int, dtype=np.float32):
        self.split, self.scale = split, np.dtype(dtype).type(scale)
        d = split.x.shape[1]
        self._same = split.x.dtype == np.dtype(dtype) and scale == 1.0
        # Rows that need converting are gathered raw first; rows already in the network's
        # dtype are gathered straight into the float buffer.
        self._raw = None if self._same else np.empty((batch_size, d), split.x.dtype)
        self._x = np.empty((batch_size, d), dtype)
        self._y = np.empty(batch_size, np.int64)

    def gather(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``idx`` (valid indices, e.g. from a permutation) as ``(x (n, d) float, y (n,))`` views
        into the batch buffers."""
        n = len(idx)
        x, y = self._x[:n], self._y[:n]
        # mode="clip" skips the bounds check, and with it the buffered copy that mode="raise"
        # makes of `out`: the indices come from a permutation of the rows, so none is out of range.
        if self._same:
            np.take(self.split.x, idx, axis=0, out=x, mode="clip")
        else:
            raw = self._raw[:n]
            np.take(self.split.x, idx, axis=0, out=raw, mode="clip")
            self._convert(raw, x)
        np.take(self.split.y, idx, out=y, mode="clip")
        return x, y

    def slice(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous rows ``start:stop`` (no gather needed), converted like ``gather``."""
        n = stop - start
        x = self._x[:n]
        src = self.split.x[start:stop]
        if self._same:
            return src, self.split.y[start:stop]
        self._convert(src, x)
        return x, self.split.y[start:stop]

    def _convert(self, raw: np.ndarray, x: np.ndarray) -> None:
        # A same-type cast then a float multiply: the same values as multiply(raw, scale),
        # but faster than NumPy's mixed uint8 * float32 loop.
        np.copyto(x, raw, casting="same_kind")
        x *= self.scale
