"""Without the optional extras, ``serve`` and ``export`` say in one line what to install."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from mlpnet.cli import cli

from trained import random_image_model


@pytest.mark.parametrize("missing, command, extra", [
    ("uvicorn", ["serve", "--port", "0"], "mlpnet[serve]"),
    ("starlette", ["serve", "--port", "0"], "mlpnet[serve]"),
    ("onnx", ["export", "-o", "m.onnx"], "mlpnet[onnx]"),
])
def test_missing_extra_is_one_line(missing, command, extra, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import <missing>` raise ImportError
    ckpt = random_image_model(tmp_path / "m.npz", "relu", "softmax")
    args = [command[0], *(["--model", str(ckpt)] if command[0] == "serve" else [str(ckpt)]), *command[1:]]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and f'pip install "{extra}"' in lines[0], r.output
    assert not (tmp_path / "m.onnx").exists()
