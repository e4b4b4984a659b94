"""Issue 18 point 10: a validation split larger than the training split is clipped, with a note."""

from __future__ import annotations

from mlpnet import config, data
from mlpnet.data.holdout import validation_size


def test_validation_larger_than_training_is_clipped_with_a_note(blobs):
    cfg = config.load(None, ["data.dataset=npz", f"data.path={blobs}", "data.val_size=400"])
    ds = data.load(cfg.data, cfg.seed, progress=False)
    assert len(ds.val) == 60 and len(ds.train) == 540
    assert any("data.val_size=400 would hold out 400 of the 600 training samples" in n and "holding out 60" in n
               for n in ds.notes), ds.notes


def test_seed_config_offline_trains_on_most_of_the_sample():
    from conftest import REPO

    cfg = config.load(REPO / "configs" / "mnist-seed.yaml", ["data.dataset=mnist-sample"])
    assert cfg.data.val_size == 5000
    ds = data.load(cfg.data, cfg.seed, progress=False)
    n = len(ds.train) + len(ds.val)
    assert len(ds.val) == round(0.1 * n) and len(ds.train) > len(ds.val)
    assert any("data.val_size=5000" in note for note in ds.notes), ds.notes


def test_a_validation_count_up_to_half_is_kept():
    assert validation_size(1000, 500) == (500, None)
    assert validation_size(1000, 0.5) == (0.5, None)
    size, note = validation_size(1000, 501)
    assert size == 100 and "501" in note and "100" in note
    assert validation_size(60_000, 5000) == (5000, None)
