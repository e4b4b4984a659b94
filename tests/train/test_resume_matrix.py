"""Issue 18, point 1: every optimizer and option resumes bit-identically after Ctrl-C, through the
resume command mlpnet itself prints."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mlpnet import checkpoint, data
from mlpnet.cli import cli

from conftest import make_blobs_npz

N_TRAIN = 300  # blobs rows kept for training after the validation split
MATRIX = {
    "sgd-plain": ["optimizer.name=sgd", "optimizer.lr=0.05", "optimizer.momentum=0"],
    "sgd-momentum": ["optimizer.name=sgd", "optimizer.lr=0.02", "optimizer.momentum=0.9"],
    "sgd-nesterov": ["optimizer.name=sgd", "optimizer.lr=0.02", "optimizer.momentum=0.9", "optimizer.nesterov=true"],
    "sgd-weight-decay": ["optimizer.name=sgd", "optimizer.lr=0.05", "optimizer.weight_decay=0.01"],
    "sgd-nesterov-weight-decay": ["optimizer.name=sgd", "optimizer.lr=0.02", "optimizer.momentum=0.5",
                                  "optimizer.nesterov=true", "optimizer.weight_decay=0.01"],
    "adam": ["optimizer.name=adam", "optimizer.lr=0.003"],
    "adam-weight-decay": ["optimizer.name=adam", "optimizer.lr=0.003", "optimizer.weight_decay=0.01",
                          "optimizer.beta2=0.99"],
    "adamw": ["optimizer.name=adamw", "optimizer.lr=0.003", "optimizer.weight_decay=0.05"],
}
SHAPES = {
    # per-sample SGD (the seed config's path: batches of one, the single-sample step)
    "batch1": ["train.batch_size=1"],
    "batch32-dropout-cosine": ["train.batch_size=32", "model.dropout=0.2", "schedule.name=cosine",
                               "schedule.warmup_epochs=1"],
}


def _args(npz: Path, out: Path, extra) -> list[str]:
    keys = ["data.dataset=npz", f"data.path={npz}", "data.val_size=100", "model.hidden=[8]", "train.epochs=3",
            "train.min_steps=0", "train.min_batches=0", "schedule.name=constant", *extra]
    return ["train", "-o", str(out), *[a for k in keys for a in ("--set", k)]]


FAST_CASES = {("sgd-plain", "batch1"), ("sgd-nesterov-weight-decay", "batch32-dropout-cosine"),
              ("adamw", "batch32-dropout-cosine")}
"""The cases the fast tier keeps (the seed config's path, and every SGD and AdamW option at once); the rest are slow."""


@pytest.mark.parametrize("opt, shape", [pytest.param(o, s, id=f"{o}-{s}", marks=() if (o, s) in FAST_CASES
                                                     else pytest.mark.slow) for o in MATRIX for s in SHAPES])
def test_sgd_resume_is_bit_identical_for_every_optimizer_and_option(tmp_path, monkeypatch, opt, shape):
    npz = make_blobs_npz(tmp_path / "blobs.npz", n_train=400, n_test=50)
    extra = MATRIX[opt] + SHAPES[shape]
    runner = CliRunner()
    r = runner.invoke(cli, _args(npz, tmp_path / "straight", extra))
    assert r.exit_code == 0, r.output

    batch = 1 if shape == "batch1" else 32
    per_epoch = -(-N_TRAIN // batch)
    real, calls = data.Batcher.gather, [0]

    def ctrl_c_in_epoch_2(self, idx):
        calls[0] += 1
        if calls[0] == per_epoch + per_epoch // 2:
            raise KeyboardInterrupt
        return real(self, idx)

    monkeypatch.setattr(data.Batcher, "gather", ctrl_c_in_epoch_2)
    r = runner.invoke(cli, _args(npz, tmp_path / "cut", extra))
    assert r.exit_code == 130, r.output
    monkeypatch.setattr(data.Batcher, "gather", real)
    said = r.output.strip().splitlines()[-1]
    assert "resume with: mlpnet train --resume" in said, r.output
    command = shlex.split(said.split("resume with: ", 1)[1])
    assert command[:2] == ["mlpnet", "train"]
    r = runner.invoke(cli, command[1:])
    assert r.exit_code == 0, r.output

    for name in ("last.npz", "best.npz"):
        a, b = checkpoint.load(tmp_path / "straight" / name), checkpoint.load(tmp_path / "cut" / name)
        assert np.array_equal(a.model.params, b.model.params), name
    a, b = checkpoint.load(tmp_path / "straight/last.npz"), checkpoint.load(tmp_path / "cut/last.npz")
    assert a.meta.rng == b.meta.rng and a.meta.step == b.meta.step
    assert a.meta.optimizer == b.meta.optimizer
    assert sorted(a.group("optim")) == sorted(b.group("optim"))
    for k in a.group("optim"):
        assert np.array_equal(a.group("optim")[k], b.group("optim")[k]), k


@pytest.mark.slow
def test_seed_config_resumes_bit_identically_after_ctrl_c(tmp_path, monkeypatch):
    """The seed article's network as shipped (configs/mnist-seed.yaml: per-sample SGD, momentum 0)."""
    from conftest import REPO

    seed = str(REPO / "configs" / "mnist-seed.yaml")
    sets = ["--set", "data.dataset=mnist-sample", "--set", "data.val_size=500", "--set", "train.epochs=2"]
    runner = CliRunner()
    r = runner.invoke(cli, ["train", "-c", seed, "-o", str(tmp_path / "straight"), *sets])
    assert r.exit_code == 0, r.output
    real, calls = data.Batcher.gather, [0]

    def ctrl_c(self, idx):
        calls[0] += 1
        if calls[0] == 7500 + 100:  # in epoch 2 (7,500 training images, one per step)
            raise KeyboardInterrupt
        return real(self, idx)

    monkeypatch.setattr(data.Batcher, "gather", ctrl_c)
    r = runner.invoke(cli, ["train", "-c", seed, "-o", str(tmp_path / "cut"), *sets])
    assert r.exit_code == 130, r.output
    monkeypatch.setattr(data.Batcher, "gather", real)
    command = shlex.split(r.output.strip().splitlines()[-1].split("resume with: ", 1)[1])
    r = runner.invoke(cli, command[1:])
    assert r.exit_code == 0, r.output
    assert np.array_equal(checkpoint.load(tmp_path / "straight/last.npz").model.params,
                          checkpoint.load(tmp_path / "cut/last.npz").model.params)
