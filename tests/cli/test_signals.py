"""Signals reach mlpnet as a user sends them, in a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_blobs_npz, small_cli


def _ignore_sigint() -> None:
    # What a shell does to a background job (`mlpnet train &` in a script): SIGINT starts ignored.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
@pytest.mark.parametrize("inherited", ["ignored", "default"])
def test_point14_sigint_stops_a_background_run_safely(tmp_path, inherited):
    """Issue 18 point 14: `kill -INT` stops a run started with SIGINT ignored, as Ctrl-C does."""
    npz = make_blobs_npz(tmp_path / "blobs.npz")
    cmd = [sys.executable, "-m", "mlpnet", "train", *small_cli(npz, "train.epochs=100000"), "-o", "run"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ignore_sigint if inherited == "ignored" else None)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "last.npz").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no epoch saved within 60 s"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert f"resume with: mlpnet train --resume {Path('run') / 'last.npz'}" in err, err
    assert (tmp_path / "run" / "last.npz").exists()
