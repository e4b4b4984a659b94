"""The math: activations, losses, initializers, the MLP, optimizers, schedules and the training step.

Imports only NumPy and :mod:`mlpnet.errors`. Every choice (activation, loss, initializer,
optimizer, schedule) is registered by name in its module; the config's choice lists are
read from those registries.
"""

from .model import MLP, Architecture
from .step import TrainStep

__all__ = ["MLP", "Architecture", "TrainStep"]
