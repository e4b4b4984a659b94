"""The test harness itself: the real home is out of reach, and the real digits are always there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import imagestyles
import pytest
from conftest import REAL_HOME, REPO, skip_reason

from mlpnet.data.locate import cache_home
from mlpnet.train import rundir

HOME_AT_IMPORT = Path.home()


def _homes() -> dict[str, Path]:
    """Every folder mlpnet (or anything else honouring HOME/XDG) would write user state to."""
    env = {k: Path(os.environ[k]) for k in ("HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME",
                                             "XDG_DATA_HOME")}
    return {**env, "Path.home()": Path.home(), "cache_home()": cache_home(),
            "latest-run state file": rundir._state_file()}


def _outside_real_home(homes: dict[str, Path]) -> list[str]:
    return [f"{k}={v}" for k, v in homes.items() if v.resolve().is_relative_to(REAL_HOME.resolve())]


@pytest.fixture(scope="session")
def session_homes():
    return _homes()


@pytest.fixture(scope="module")
def module_homes():
    return _homes()


@pytest.fixture(scope="session")
def session_subprocess_home():
    # What a server or trainer started by a session fixture sees.
    code = "import pathlib; print(pathlib.Path.home())"
    return Path(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip())


def test_point12_no_fixture_scope_sees_the_real_home(session_homes, module_homes, session_subprocess_home):
    """Issue 18 point 12: session- and module-scoped fixtures run outside any test's own home."""
    assert _outside_real_home(session_homes) == []
    assert _outside_real_home(module_homes) == []
    assert _outside_real_home(_homes()) == []
    assert not session_subprocess_home.is_relative_to(REAL_HOME)


def test_point12_collection_sees_no_real_home():
    # Collection imports every test module before any fixture exists: the home moved before that.
    assert not HOME_AT_IMPORT.is_relative_to(REAL_HOME)


def test_point13_real_digits_fall_back_to_the_digits_mlpnet_ships(monkeypatch, tmp_path):
    """Issue 18 point 13: without ../shared/data/mnist-t10k the real-digit tests use mnist-sample."""
    monkeypatch.delenv("MLPNET_TEST_MNIST", raising=False)
    monkeypatch.setattr(imagestyles, "SHARED_MNIST", tmp_path / "absent")
    folder = imagestyles.mnist_dir()
    assert folder is not None and folder.parent.name == "samples" and folder.name == "mnist-sample"
    assert folder.is_relative_to(REPO / "mlpnet") or "site-packages" in folder.parts
    x, y = imagestyles.load_t10k(folder)
    assert x.shape == (10000, 28, 28) and sorted(set(y.tolist())) == list(range(10))


def test_point11_every_optional_import_skips_with_a_reason_naming_what_installs_it():
    """Issue 18 point 11: on the README's install a test of an absent extra skips and says which extra."""
    import re

    bare = [f"{p.relative_to(REPO)}:{n}" for p in (REPO / "tests").rglob("*.py")
            for n, line in enumerate(p.read_text().splitlines(), 1)
            if "importorskip(" in line and "reason=" not in line and "def " not in line]
    assert bare == [], "pytest.importorskip without reason= (use skip_reason(module)): " + ", ".join(bare)
    # tests/ is on sys.path, so a folder there (tests/distributed) is importable as a namespace package:
    # skipping on "distributed" would then never skip. Name such modules by their full path (dask.distributed).
    folders = {p.name for p in (REPO / "tests").iterdir() if p.is_dir()}
    shadowed = [f"{p.relative_to(REPO)}:{n}" for p in (REPO / "tests").rglob("*.py")
                for n, line in enumerate(p.read_text().splitlines(), 1)
                for name in re.findall(r'importorskip\("(\w+)"', line) if name in folders]
    assert shadowed == [], "importorskip of a name that is also a tests/ folder: " + ", ".join(shadowed)
    assert re.fullmatch(r"sklearn is not installed \(pip install 'mlpnet\[sklearn\]'\)", skip_reason("sklearn.datasets"))
