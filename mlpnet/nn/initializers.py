"""Weight initialisation schemes, looked up by name.

Each fills one layer's ``w (n_in, n_out)`` and ``b (n_out,)`` in place from ``rng``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import ConfigError

Init = Callable[[np.ndarray, np.ndarray, np.random.Generator], None]


def he(w: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> None:
    """Normal with variance 2 / n_in (He et al. 2015), for ReLU-family layers; zero biases."""
    w[...] = rng.standard_normal(w.shape) * np.sqrt(2.0 / w.shape[0])
    b[...] = 0.0


def xavier(w: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> None:
    """Uniform on +-sqrt(6 / (n_in + n_out)) (Glorot & Bengio 2010), for sigmoid/tanh; zero biases."""
    limit = np.sqrt(6.0 / (w.shape[0] + w.shape[1]))
    w[...] = rng.uniform(-limit, limit, w.shape)
    b[...] = 0.0


def uniform(w: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> None:
    """Plain uniform on [-0.5, 0.5) for weights and biases, as the from-scratch seed article did."""
    w[...] = rng.uniform(-0.5, 0.5, w.shape)
    b[...] = rng.uniform(-0.5, 0.5, b.shape)


INITIALIZERS: dict[str, Init] = {"he": he, "xavier": xavier, "uniform": uniform}


def get(name: str) -> Init:
    """Look up an initializer; unknown names list the valid ones."""
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ConfigError(f"model.init: unknown initializer {name!r}; choose one of {', '.join(INITIALIZERS)}") from None
