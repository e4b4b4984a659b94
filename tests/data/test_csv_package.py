"""The CSV reader is a package of modules under 600 lines, and ``mlpnet.data.load`` is the loader (issue 19, 4)."""

from __future__ import annotations

import importlib
from pathlib import Path

import mlpnet.data


def test_csv_package_modules_stay_small():
    folder = Path(mlpnet.data.__file__).with_name("csv")
    modules = sorted(folder.glob("*.py"))
    assert {m.stem for m in modules} >= {"sniff", "parse", "read", "options"}
    sizes = {m.name: len(m.read_text().splitlines()) for m in modules}
    assert max(sizes.values()) <= 600, sizes


def test_data_load_is_the_loader_not_a_module():
    for name in ("formats", "csv", "csv.read", "named", "npz", "folder"):
        importlib.import_module(f"mlpnet.data.{name}")  # importing every submodule must not shadow it
    assert callable(mlpnet.data.load) and mlpnet.data.load.__module__ == "mlpnet.data.formats"
    assert mlpnet.data.load is importlib.import_module("mlpnet.data.formats").load
