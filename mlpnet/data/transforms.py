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
