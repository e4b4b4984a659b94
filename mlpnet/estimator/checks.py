"""Input checks and small helpers of the estimators: each bad input is one clear ValueError."""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np

from ..data import MNIST_INPUT
from ..nn import MLP, Architecture

try:
    from sklearn.exceptions import DataConversionWarning as _ConversionWarning
except ImportError:  # pragma: no cover
    _ConversionWarning = UserWarning

def _check_X(X, training: bool):
    """``X`` as a 2-D numeric array (or scipy CSR) and its kind (``image`` or ``tabular``), or a clear error."""
    if X is None:
        raise ValueError("X is None; expected an array of shape (n_samples, n_features)")
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        x = X.tocsr()
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"Found array with {x.shape[0]} sample(s) and {x.shape[1]} feature(s) "
                             f"(shape={x.shape}) while a minimum of 1 is required.")
        if x.dtype.kind not in "biuf":
            raise ValueError(f"sparse X must be numeric, got dtype {x.dtype}")
        if x.dtype.kind == "f" and not np.isfinite(x.data).all():
            raise ValueError("Input X contains NaN or infinity; impute or drop those values first")
        x.sort_indices()
        return x, "tabular"
    x = np.asarray(X)
    if x.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if x.dtype.kind in "OUS":
        try:
            x = x.astype(np.float64)  # a non-number raises "float() argument must be a string or a real number"
        except TypeError as err:
            raise TypeError(f"X must hold numbers ({err})") from None
        except ValueError as err:
            raise ValueError(f"X must hold numbers ({err}); one-hot encode word columns first, or train from a "
                             "CSV file, where mlpnet encodes them") from None
    elif x.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {x.dtype}")
    kind = "tabular"
    if x.ndim == 3:
        kind = "image"
        x = x.reshape(len(x), -1)
    if x.ndim != 2:
        raise ValueError(f"Expected 2D array, got {x.ndim}D array instead; Reshape your data with "
                         "X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"Found array with {x.shape[0]} sample(s) and {x.shape[1]} feature(s) (shape={x.shape}) "
                         "while a minimum of 1 is required.")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError("Input X contains NaN or infinity; impute or drop those values first")
    if kind == "tabular" and x.shape[1] == 784 and x.dtype.kind in "biu" and x.min() >= 0 and x.max() <= 255:
        kind = "image"  # MNIST-style rows of 784 integer pixels
    if kind == "image" and training and (x.min() < 0 or x.max() > 255):
        raise ValueError("image inputs must be pixels 0-255")
    return x, kind


def _check_y_present(y, n: int) -> np.ndarray:
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    if hasattr(y, "toarray"):
        y = y.toarray()
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError("y must be an array of targets, one per sample")
    if len(y) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)}")
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                      "to (n_samples, ), for example using ravel().", _ConversionWarning, stacklevel=5)
        y = y.ravel()
    return y


def _check_finite_y(y: np.ndarray) -> None:
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise ValueError("Input y contains NaN.")
        if not np.isfinite(y).all():
            raise ValueError("Input y contains infinity or a value too large for dtype('float64').")


def _check_labels(y: np.ndarray) -> np.ndarray:
    """Class labels ``(n,)``: integers, words, or floats that are whole numbers."""
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead")
    if y.dtype.kind == "f":
        _check_finite_y(y)
        if not np.all(y == np.round(y)):
            raise ValueError("Unknown label type: continuous. MLPClassifier needs class labels "
                             "(integers or strings), not continuous values; use MLPRegressor for those")
    if y.dtype.kind == "O":
        y = y.astype(str) if all(isinstance(v, str) for v in y) else y
    return y


def _check_weights(sample_weight, n: int) -> np.ndarray | None:
    """Sample weights as float64 ``(n,)``: finite, non-negative, not all zero."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.ndim != 1 or len(w) != n:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n},): one weight per sample")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if (w < 0).any():
        raise ValueError("sample_weight has negative values; weights must be >= 0")
    if not (w > 0).any():
        raise ValueError("Sample weights must contain at least one non-zero number (every weight is zero).")
    return w


def _fit_stats(x, kind: str, w) -> dict[str, np.ndarray]:
    """Standardization statistics of tabular training rows (weighted by ``w``); none for images or sparse rows."""
    if kind == "image" or hasattr(x, "tocsr"):
        return {}
    xf = x.astype(np.float64, copy=False)
    mean = np.average(xf, axis=0, weights=w)
    std = np.sqrt(np.average((xf - mean) ** 2, axis=0, weights=w))
    std[~(std > 1e-12 * np.maximum(np.abs(mean), 1.0))] = 1.0  # a constant column stays 0 after centring
    return {"mean": mean, "std": std}


def _holdout(targets: np.ndarray, task: str, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices; stratified by class for single-label classification."""
    n = len(targets)
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction!r}")
    if task == "classification" and targets.ndim == 1:
        val = []
        for c in np.unique(targets):
            rows = rng.permutation(np.flatnonzero(targets == c))
            val.extend(rows[:int(round(fraction * len(rows)))])
        val = np.sort(np.asarray(val, dtype=np.int64))
    else:
        val = np.sort(rng.permutation(n)[:max(1, int(math.ceil(fraction * n)))])
    train = np.setdiff1d(np.arange(n), val)
    return train, val


def _input_info(x, kind: str, names) -> dict:
    if kind == "image":
        side = math.isqrt(x.shape[1])
        info = dict(MNIST_INPUT, height=side, width=side)
        if side != 28 or side * side != x.shape[1]:
            info["preprocess"] = "resize"
        return info
    if names is None:  # no real names: a CSV's columns are read by position (its header is not checked)
        info = {"kind": "table", "features": [f"x{i}" for i in range(x.shape[1])], "positional": True}
    else:
        info = {"kind": "table", "features": [str(f) for f in names]}
    if hasattr(x, "tocsr"):
        info["sparse"] = True
    return info


def _seed(random_state) -> int:
    """An integer seed: the given one, one drawn from a NumPy generator, or a fresh one for None."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**32))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    return int(random_state)


def _threads(threads):
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=int(threads), user_api="blas")


def _float64_copy(model: MLP) -> MLP:
    a = model.arch
    copy = MLP(Architecture(a.sizes, a.activation, a.output, 0.0, dtype="float64"))
    copy.params[...] = model.params
    return copy


def _json_labels(classes: np.ndarray) -> list:
    """Labels as JSON values that load back as the same NumPy type (ints stay ints)."""
    return [c.item() if hasattr(c, "item") else c for c in classes]


def _mappings(X) -> bool:
    """Rows given as mappings (column name -> value): named, though not a DataFrame."""
    return isinstance(X, (list, tuple)) and len(X) > 0 and isinstance(X[0], dict)


def _is_frame(X) -> bool:
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _feature_names(X) -> np.ndarray | None:
    """A DataFrame's column names (object array) when every one is a string, else None (scikit-learn's rule)."""
    columns = getattr(X, "columns", None)
    if columns is None or not _is_frame(X):
        return None
    names = np.asarray(list(columns), dtype=object)
    strings = [isinstance(c, str) for c in names]
    if names.size and all(strings):
        return names
    if any(strings):
        kinds = sorted({type(c).__name__ for c in names})
        raise TypeError(f"Feature names are only supported if all input features have string names, but your "
                        f"input has {kinds} as feature name / column name types; convert them all to strings "
                        "with X.columns = X.columns.astype(str)")
    return None


def _listed(names: list[str], most: int = 8) -> str:
    return ", ".join(names[:most]) + (f", ... ({len(names)} in all)" if len(names) > most else "")
