"""Training: the epoch loop (``loop``), the run directory (``rundir``), what the run reports
(``report``), the objects built from a config (``build``) and the resumable state (``state``).

``train`` is defined here without importing the rest, so that ``import mlpnet`` (and with it
``mlpnet --help``) stays fast; the work is in :func:`mlpnet.train.api.train`.
"""

from __future__ import annotations


def train(config=None, overrides=(), out=None, **options):
    """Train a model and write its run directory; see :func:`mlpnet.train.api.train`."""
    from .api import train as run

    return run(config, overrides, out, **options)


__all__ = ["train"]
