"""Epoch callbacks: they see every saved epoch and the run, and can end the run without subclassing anything."""

from __future__ import annotations

import pytest

from mlpnet import checkpoint, config
from mlpnet.train import loop
from mlpnet.train.report import Reporter


def _cfg(npz, *extra):
    return config.load(None, ["data.dataset=npz", f"data.path={npz}", "data.val_size=100", "model.hidden=[16]",
                              "train.batch_size=64", "train.threads=1", *extra])


def test_a_callback_sees_each_epoch_after_it_is_saved_and_can_stop_the_run(blobs, tmp_path):
    seen = []

    def stop_after_two(run: loop.Run, row: dict) -> None:
        # last.npz already holds this epoch when the callback runs
        seen.append((row["epoch"], checkpoint.load(run.dir.last).meta.epoch, run.state.epoch))
        if row["epoch"] == 2:
            run.stop()

    r = loop.fit(_cfg(blobs, "train.epochs=6"), tmp_path / "run", callbacks=[stop_after_two],
                 reporter=Reporter(lambda s: None))
    assert seen == [(1, 1, 1), (2, 2, 2)]
    assert r.epochs == 2 and len(r.history) == 2 and r.test is not None  # it finished as usual


def test_an_exception_from_a_callback_ends_the_run_with_its_epochs_saved(blobs, tmp_path):
    class Pruned(Exception):
        pass

    def prune(run, row):
        if row["epoch"] == 3:
            raise Pruned

    with pytest.raises(Pruned):
        loop.fit(_cfg(blobs, "train.epochs=5"), tmp_path / "run", callbacks=[prune],
                 reporter=Reporter(lambda s: None))
    assert checkpoint.load(tmp_path / "run" / "last.npz").meta.epoch == 3
