"""Hyperparameter sweeps: a sweep file (spec), trials run on Dask (run), and what they leave (results)."""

from __future__ import annotations

from .run import SweepError, SweepInterrupted, SweepOutcome, run_sweep
from .spec import SweepSpec, load

__all__ = ["SweepError", "SweepInterrupted", "SweepOutcome", "SweepSpec", "load", "run_sweep"]
