"""Input transforms: what turns stored values into network inputs, fitted on training data only.

Images are stored as uint8 and scaled one batch at a time (see ``batching``); tabular
features are standardized here, with a :class:`~mlpnet.data.spec.Standardizer` fitted on
the training split. The statistics go into the dataset's :class:`~mlpnet.data.spec.InputSpec`,
which the checkpoint stores, so a trained model applies the same transform to new inputs.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .dataset import Dataset
from .spec import Standardizer


def standardize(ds: Dataset, stats: dict[str, np.ndarray] | None = None) -> None:
    """Standardize every split of a tabular dataset in place, with ``stats`` or statistics
    fitted on its training split; records them in ``ds.input``."""
    if stats is None:
        fitted = Standardizer.fit(ds.train.x)
        stats = {"mean": fitted.mean, "std": fitted.std}
    elif stats["mean"].shape != (ds.n_features,):
        raise DataError(f"the data has {ds.n_features} features but the model was trained on {stats['mean'].shape[0]}")
    scaler = Standardizer(stats["mean"], stats["std"])
    for part in (ds.train, ds.val, ds.test):
        if part is not None:
            part.x = scaler.apply(part.x)
    ds.input.mean, ds.input.std = scaler.mean, scaler.std


def standardize_targets(ds: Dataset, stats: dict[str, np.ndarray] | None = None) -> None:
    """Standardize a regression dataset's targets ``(n, k)`` in place, with ``stats`` or statistics of
    its training split (a constant target gets std 1); records them in ``ds.target_stats``.

    The network then learns values of unit scale whatever the targets' units (as
    scikit-learn users do with a StandardScaler on y); :meth:`Checkpoint.to_user` undoes it."""
    if stats is None:
        y = ds.train.y.astype(np.float64)
        stats = target_stats(y.mean(axis=0), y.std(axis=0))
    elif np.shape(stats["mean"]) != (ds.train.y.shape[1],):
        raise DataError(f"the data has {ds.train.y.shape[1]} targets but the model was trained on "
                        f"{np.shape(stats['mean'])[0]}")
    mean, std = np.asarray(stats["mean"], np.float64), np.asarray(stats["std"], np.float64)
    for part in (ds.train, ds.val, ds.test):
        if part is not None:
            part.y = ((part.y - mean) / std).astype(np.float32)
    ds.target_stats = {"mean": mean, "std": std}


def target_stats(mean: np.ndarray, std: np.ndarray) -> dict[str, np.ndarray]:
    """The targets' ``mean`` and ``std`` to standardize with; a (numerically) constant target gets std 1."""
    std = np.array(std, dtype=np.float64)
    std[~(std > 1e-12 * np.maximum(np.abs(mean), 1.0))] = 1.0
    return {"mean": np.asarray(mean, np.float64), "std": std}


def apply_class_weight(ds: Dataset, class_weight: str | dict) -> str:
    """Multiply the training split's sample weights by per-class weights (``train.class_weight``).

    ``balanced`` gives class c the weight ``n / (k * n_c)`` (scikit-learn's), a mapping
    ``{class: weight}`` names classes by their label (unnamed ones keep 1). Validation and test
    rows stay unweighted. Returns a one-line note with the weights."""
    if ds.task != "classification":
        raise DataError(f"train.class_weight: applies to classes, and the data holds {ds.task} targets "
                        "(use data.weight_column)")
    if hasattr(ds.train, "weigh_classes"):  # a file streamed in chunks weighs each chunk as it comes
        return ds.train.weigh_classes(class_weight)
    per_class, note = class_weights(np.bincount(ds.train.y, minlength=ds.n_classes), ds.classes, class_weight)
    w = per_class[ds.train.y].astype(np.float32)
    ds.train.w = w if ds.train.w is None else ds.train.w * w
    if not ds.train.w.any():
        raise DataError("train.class_weight: every training row has weight 0")
    return note


def class_weights(counts: np.ndarray, classes: list[str], class_weight: str | dict) -> tuple[np.ndarray, str]:
    """Per-class weights ``(k,)`` for the training rows' class ``counts``, and a one-line note naming them.

    ``balanced`` gives class c the weight ``n / (k * n_c)`` (scikit-learn's), a mapping
    ``{class: weight}`` names classes by their label (unnamed ones keep 1)."""
    k = len(classes)
    if class_weight == "balanced":
        counts = np.asarray(counts, np.float64)
        per_class = np.where(counts > 0, counts.sum() / (k * np.maximum(counts, 1)), 0.0)
    else:
        lookup = {str(c): float(v) for c, v in class_weight.items()}
        unknown = sorted(set(lookup) - set(classes))
        if unknown:
            raise DataError(f"train.class_weight: {unknown[0]!r} is not a class of this data "
                            f"({', '.join(classes[:8])})")
        per_class = np.array([lookup.get(c, 1.0) for c in classes])
    shown = ", ".join(f"{c} {v:.3g}" for c, v in list(zip(classes, per_class))[:8])
    return per_class, f"train.class_weight: {shown}{', ...' if k > 8 else ''}"
