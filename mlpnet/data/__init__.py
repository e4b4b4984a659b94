"""The data layer: one module per format, all returning one :class:`Dataset` type.

``load`` (in ``formats.py``) reads ``data.dataset`` from the registry ``FORMATS``;
``named`` holds the catalog of named datasets, ``locate`` and ``download`` find or fetch
their files, ``holdout`` draws the test and validation splits, ``transforms`` scales and
standardizes inputs, ``batching`` assembles training batches and ``images`` decodes and
normalises people's images. This package never imports ``mlpnet.train`` or ``mlpnet.cli``.
"""

from .batching import Batcher, epoch_batches
from .dataset import MNIST_INPUT, Dataset, Split
from .formats import FORMATS, load
from .holdout import split_validation, train_seed
from .stream import StreamSplit

__all__ = ["Batcher", "Dataset", "FORMATS", "MNIST_INPUT", "Split", "StreamSplit", "epoch_batches", "load",
           "split_validation", "train_seed"]
