"""Issue 18 point 2: what the user sets (config file or --set) wins over every heuristic; the
small-data policy fills only ``auto`` values, says so in a note naming both values, and is
one function the CLI and MLPClassifier share."""

from __future__ import annotations

import numpy as np
import pytest

from mlpnet import config
from mlpnet.estimator import MLPClassifier
from mlpnet.train import api as trainer, sizing


def _train(blobs, tmp_path, *sets, config_path=None):
    msgs = []
    cfg = config.load(config_path, ["data.dataset=npz", f"data.path={blobs}", "model.hidden=[8]",
                                    "data.val_size=0.1", *sets])
    r = trainer.train(cfg, (), tmp_path / "run", progress=False, echo=msgs.append)
    return r, msgs


def test_explicit_epochs_win_over_min_steps(blobs, tmp_path):
    r, msgs = _train(blobs, tmp_path, "train.epochs=2", "train.min_steps=1000")
    assert r.epochs == 2 and len(r.history) == 2
    assert not any("epochs" in m for m in msgs), msgs


def test_explicit_epochs_in_a_config_file_win_over_min_steps(blobs, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 3\n")
    r, _ = _train(blobs, tmp_path, config_path=path)
    assert r.epochs == 3


def test_explicit_batch_size_wins_over_min_batches(blobs, tmp_path):
    r, msgs = _train(blobs, tmp_path, "train.epochs=1", "train.batch_size=128", "train.min_batches=16")
    assert r.config.train.batch_size == 128
    assert not any("batch_size" in m for m in msgs), msgs


def test_auto_values_are_filled_with_a_note_naming_both_values(blobs, tmp_path):
    r, msgs = _train(blobs, tmp_path, "train.min_steps=100")
    n_train = 600 - 60
    assert r.config.train.batch_size == n_train // 16 == 33
    assert r.epochs == sizing.AUTO_EPOCHS  # 17 updates an epoch x 15 epochs already exceed 100
    assert any("train.batch_size is auto: 128 lowered to 33" in m for m in msgs), msgs
    r, msgs = _train(blobs, tmp_path / "2", "train.min_steps=1000")
    assert r.epochs == 59  # ceil(1000 / 17)
    assert any("train.epochs is auto: 15 raised to 59" in m and "set train.epochs to choose" in m
               for m in msgs), msgs
    # the run's stored config says what it did, so a resume repeats it
    assert r.config.train.epochs == 59 and r.config.train.batch_size == 33


def test_large_training_set_keeps_auto_baseline():
    p = sizing.plan(60_000, "auto", "auto", min_batches=16, min_steps=1000)
    assert (p.batch_size, p.epochs, p.notes) == (128, 15, [])


@pytest.mark.parametrize("n", [10, 100, 540, 1000, 2047, 5000])
def test_estimator_sizes_as_scikit_learn_and_keeps_explicit_values(n):
    """The estimators take scikit-learn's parameters with their meanings (issue 20): batch_size
    "auto" is min(200, n) and max_iter epochs, not the CLI's small-data policy; explicit values win."""
    cfg = MLPClassifier()._config(n)
    assert (cfg.train.batch_size, cfg.train.epochs) == (min(200, n), 200)
    cfg = MLPClassifier(max_iter=3, batch_size=7)._config(n)
    assert (cfg.train.epochs, cfg.train.batch_size) == (3, min(7, n))


def test_no_second_copy_of_the_policy():
    from mlpnet.train import build

    assert not hasattr(build, "batch_for") and not hasattr(build, "epochs_for")
    import mlpnet.estimator as est

    assert not hasattr(est, "SMALL_BATCH")


def test_resume_with_epochs_auto_resolves_it(blobs, tmp_path):
    r, _ = _train(blobs, tmp_path, "train.epochs=2", "train.min_steps=100")
    msgs = []
    r2 = trainer.train(None, ["train.epochs=auto"], None, resume=tmp_path / "run" / "last.npz", progress=False,
                       echo=msgs.append)
    assert r2.epochs == sizing.AUTO_EPOCHS and r2.config.train.epochs == sizing.AUTO_EPOCHS


def test_blas_threads_one_for_small_steps_and_what_the_user_set_always():
    from mlpnet.train.sizing import SMALL_STEP_MACS, blas_threads

    digits = (64, 100, 10)  # scikit-learn's load_digits network: 200 x 7,400 multiply-adds
    assert blas_threads(None, digits, 200) == 1
    assert blas_threads(None, (784, 256, 128, 10), 256) is None  # large: every core
    assert blas_threads(2, digits, 200) == 2 and blas_threads(1, (784, 256, 128, 10), 256) == 1  # set: as set
    edge = SMALL_STEP_MACS // (10 * 10)
    assert blas_threads(None, (10, 10), edge) is None and blas_threads(None, (10, 10), edge - 1) == 1


def test_an_estimator_with_threads_unset_trains_small_networks_on_one_blas_thread(monkeypatch):
    import numpy as np
    from threadpoolctl import threadpool_info

    import mlpnet
    from mlpnet.train import stochastic

    seen = []
    real = stochastic.fit_epochs

    def spy(*args, **kwargs):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return real(*args, **kwargs)

    monkeypatch.setattr("mlpnet.estimator.base.fit_epochs", spy)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 4)), rng.integers(0, 2, 100)
    mlpnet.MLPClassifier(max_iter=2, random_state=0).fit(x, y)
    assert seen == [{1}]
