"""The training loop: determinism, exact resume, early stopping, and never losing a good model."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from mlpnet import checkpoint, config, data
from mlpnet.train import api as trainer, build, loop, report
from mlpnet.errors import CheckpointError, ConfigError, DataError, TrainingError

from conftest import small_config, train_small


def _cfg(npz, *extra):
    return small_config(npz, "model.dropout=0.2", *extra)


_run = train_small


def _params(path):
    return checkpoint.load(path).model.params


def _rows(out):
    with open(out / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_run_directory_contents(blobs, tmp_path):
    out = tmp_path / "run"
    r = _run(_cfg(blobs, "train.epochs=3"), out)
    expected = {"best.npz", "config.yaml", "last.npz", "metrics.csv"}
    if importlib.util.find_spec("matplotlib"):
        expected.add("curves.png")
    assert {p.name for p in out.iterdir()} == expected
    rows = _rows(out)
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0]) == report.METRIC_FIELDS
    assert config.load(out / "config.yaml").model.hidden == [16]
    assert r.test["accuracy"] > 0.9  # the blobs are easy: this checks learning happens
    best = checkpoint.load(out / "best.npz")
    assert best.meta.test["accuracy"] == r.test["accuracy"]
    assert best.meta.config["model"]["hidden"] == [16] and best.meta.classes == ["0", "1", "2", "3"]


def test_same_seed_same_weights_different_seed_different(blobs, tmp_path):
    _run(_cfg(blobs, "train.epochs=2"), tmp_path / "a")
    _run(_cfg(blobs, "train.epochs=2"), tmp_path / "b")
    _run(_cfg(blobs, "train.epochs=2", "seed=1"), tmp_path / "c")
    assert np.array_equal(_params(tmp_path / "a/last.npz"), _params(tmp_path / "b/last.npz"))
    assert not np.array_equal(_params(tmp_path / "a/last.npz"), _params(tmp_path / "c/last.npz"))


@pytest.mark.parametrize("opt", ["adam", "sgd"])
def test_resume_is_bit_identical(blobs, tmp_path, opt):
    extra = [f"optimizer.name={opt}", "optimizer.momentum=0.9", "schedule.name=step", "schedule.step_size=1",
             "schedule.gamma=0.8"]
    _run(_cfg(blobs, "train.epochs=4", *extra), tmp_path / "straight")
    out = tmp_path / "split"
    _run(_cfg(blobs, "train.epochs=2", *extra), out)
    _run(None, out, resume=out / "last.npz", resume_overrides=["train.epochs=4"])
    assert np.array_equal(_params(tmp_path / "straight/last.npz"), _params(out / "last.npz"))
    a, b = checkpoint.load(tmp_path / "straight/last.npz"), checkpoint.load(out / "last.npz")
    for k in ("m", "v", "velocity"):
        if k in a.group("optim"):
            assert np.array_equal(a.group("optim")[k], b.group("optim")[k])
    assert a.meta.rng == b.meta.rng and a.meta.step == b.meta.step
    # resuming into the run's own directory continues its metrics.csv
    assert [r["epoch"] for r in _rows(out)] == ["1", "2", "3", "4"]
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in _rows(out)]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in _rows(tmp_path / "straight")]


def _ctrl_c_on_call(monkeypatch, owner, name: str, n: int):
    """Make the ``n``-th call of ``owner.name`` raise KeyboardInterrupt, as Ctrl-C there would;
    returns the real function, to put back."""
    real, calls = getattr(owner, name), [0]

    def interrupted(*args, **kwargs):
        calls[0] += 1
        if calls[0] == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, interrupted)
    return real


def test_interrupted_run_resumes_bit_identically(blobs, tmp_path, monkeypatch):
    """Ctrl-C in epoch 3 of 4 (cosine schedule): last.npz holds epoch 2 and resuming matches a straight run."""
    cfg = _cfg(blobs, "train.epochs=4", "schedule.name=cosine", "schedule.warmup_epochs=1")
    _run(cfg, tmp_path / "straight")
    per_epoch = -(-500 // 32)
    real = _ctrl_c_on_call(monkeypatch, data.Batcher, "gather", 2 * per_epoch + 5)
    out = tmp_path / "int"
    with pytest.raises(loop.Interrupted, match=r"interrupted during epoch 3; .*last.npz holds epoch 2; resume with: mlpnet train --resume"):
        _run(cfg, out)
    assert checkpoint.load(out / "last.npz").meta.epoch == 2
    monkeypatch.setattr(data.Batcher, "gather", real)
    _run(None, out, resume=out / "last.npz")
    assert np.array_equal(_params(tmp_path / "straight/last.npz"), _params(out / "last.npz"))
    assert np.array_equal(_params(tmp_path / "straight/best.npz"), _params(out / "best.npz"))


def test_resume_refuses_unsafe_changes_and_finished_runs(blobs, tmp_path):
    out = tmp_path / "r"
    _run(_cfg(blobs, "train.epochs=2"), out)
    with pytest.raises(ConfigError, match="model.hidden cannot change when resuming"):
        _run(None, out, resume=out / "last.npz", resume_overrides=["model.hidden=[8]"])
    with pytest.raises(TrainingError, match="already trained 2 epochs"):
        _run(None, out, resume=out / "last.npz")


def test_best_npz_cannot_be_resumed(blobs, tmp_path):
    out = tmp_path / "r"
    _run(_cfg(blobs, "train.epochs=1"), out)
    with pytest.raises(CheckpointError, match=r"best\.npz: this checkpoint has no training state to resume from"):
        _run(None, tmp_path / "r2", resume=out / "best.npz", resume_overrides=["train.epochs=3"])
    assert not (tmp_path / "r2").exists()


def test_early_stopping_keeps_best_epoch(blobs, tmp_path):
    # A rising learning rate on a tiny set makes validation loss stop improving quickly.
    out = tmp_path / "es"
    r = _run(_cfg(blobs, "train.epochs=30", "train.early_stopping=2", "train.monitor=val_loss",
                  "optimizer.lr=0.05"), out)
    rows = _rows(out)
    losses = [float(x["val_loss"]) for x in rows]
    assert r.stopped_early and len(rows) < 30
    assert r.best_epoch == 1 + int(np.argmin(losses))
    assert len(rows) - r.best_epoch == 2  # stopped after exactly `patience` epochs without improvement
    best = checkpoint.load(out / "best.npz")
    assert best.meta.epoch == r.best_epoch
    assert best.meta.best["value"] == pytest.approx(min(losses), rel=1e-5)


def test_existing_model_is_not_overwritten(blobs, tmp_path):
    out = tmp_path / "r"
    _run(_cfg(blobs, "train.epochs=1"), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(TrainingError, match=r"already holds a model .*--resume .*--overwrite"):
        _run(_cfg(blobs, "train.epochs=1", "seed=5"), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    msgs = []
    trainer.train(_cfg(blobs, "train.epochs=1", "seed=5"), (), out, overwrite=True, progress=False, echo=msgs.append)
    assert (out / "last.npz").read_bytes() != before["last.npz"]
    # --overwrite never destroys the old model: it moves to previous/
    assert {p.name: p.read_bytes() for p in (out / "previous").iterdir()} == before
    assert any("previous" in m for m in msgs)


def test_divergence_stops_cleanly_and_keeps_good_checkpoints(blobs, tmp_path):
    out = tmp_path / "r"
    _run(_cfg(blobs, "train.epochs=1"), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = _cfg(blobs, "train.epochs=2", "loss=mse", "model.output=identity", "optimizer.name=sgd",
               "optimizer.lr=1e6")
    with pytest.raises(TrainingError, match=r"training diverged: the loss became (nan|inf) at epoch 1, batch \d+/\d+; "
                                            r"nothing was saved; try a lower optimizer.lr \(it was 1e\+06\)"):
        _run(bad, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_no_validation_split_monitors_training_metric(blobs, tmp_path):
    msgs = []
    r = trainer.train(_cfg(blobs, "train.epochs=2", "data.val_size=0"), (), tmp_path / "r", progress=False,
                      echo=msgs.append)
    assert r.monitor == "train_accuracy" and any("train_accuracy" in m for m in msgs)
    assert _rows(tmp_path / "r")[0]["val_loss"] == ""


def test_log_formats(blobs, tmp_path):
    import io
    import json

    buf = io.StringIO()
    trainer.train(_cfg(blobs, "train.epochs=2"), (), tmp_path / "j", progress=False, echo=lambda s: None,
                  log_format="jsonl", log_stream=buf)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2, 2] and set(report.METRIC_FIELDS) <= set(lines[0])
    # The last record is the best epoch's test result, the same numbers best.npz holds.
    test = checkpoint.load(tmp_path / "j" / "best.npz").meta.test
    assert lines[-1] == {"event": "test", **test}
    buf = io.StringIO()
    trainer.train(_cfg(blobs, "train.epochs=2"), (), tmp_path / "c", progress=False, echo=lambda s: None,
                  log_format="csv", log_stream=buf)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("epoch,") and len(lines) == 3


@pytest.mark.parametrize("threads,extra,expected", [(1, [], 1), (2, [], 2),
                                                    (2, ["train.batch_size=1", "optimizer.name=sgd",
                                                         "optimizer.momentum=0.0", "model.dropout=0.0"], 1)])
def test_thread_limit_applies_inside_training(blobs, tmp_path, monkeypatch, threads, extra, expected):
    """train.threads caps BLAS while training (one thread on the single-sample path); lifted afterwards."""
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    before = blas_threads()
    seen = []
    real = data.Batcher.gather

    def gather(self, idx):
        seen.append(blas_threads())
        return real(self, idx)

    monkeypatch.setattr(data.Batcher, "gather", gather)
    _run(_cfg(blobs, "train.epochs=1", f"train.threads={threads}", "data.val_size=450", *extra), tmp_path / "t")
    assert seen and all(s == {expected} for s in seen)
    assert blas_threads() == before


def test_batch_of_one_with_plain_sgd_takes_the_single_sample_path(blobs, tmp_path, monkeypatch):
    """Same run through the single-sample path and through the general one: same weights up to rounding."""
    from mlpnet.nn.model import MLP

    extra = ["train.epochs=1", "train.batch_size=1", "model.dropout=0.0", "optimizer.name=sgd", "optimizer.lr=0.05",
             "model.activation=sigmoid", "loss=mse", "model.output=sigmoid", "data.val_size=300"]
    _run(_cfg(blobs, *extra), tmp_path / "fast")
    monkeypatch.setattr(MLP, "backward", lambda *a: pytest.fail("the general path was used"))
    _run(_cfg(blobs, *extra), tmp_path / "fast2")
    monkeypatch.undo()
    monkeypatch.setattr(build, "sample_sgd", lambda cfg: False)
    _run(_cfg(blobs, *extra), tmp_path / "general")
    fast, general = checkpoint.load(tmp_path / "fast/last.npz"), checkpoint.load(tmp_path / "general/last.npz")
    np.testing.assert_allclose(fast.model.params, general.model.params, rtol=1e-4, atol=1e-6)
    assert fast.meta.optimizer["t"] == general.meta.optimizer["t"] == 300
    assert np.array_equal(_params(tmp_path / "fast/last.npz"), _params(tmp_path / "fast2/last.npz"))


def test_resume_into_another_directory_carries_best(blobs, tmp_path):
    src, dst = tmp_path / "a", tmp_path / "b"
    _run(_cfg(blobs, "train.epochs=2", "schedule.name=constant"), src)
    r = _run(None, dst, resume=src / "last.npz", resume_overrides=["train.epochs=3"])
    assert (dst / "best.npz").exists() and r.test is not None
    assert [row["epoch"] for row in _rows(dst)] == ["1", "2", "3"]  # history travels in the checkpoint
    assert checkpoint.load(dst / "best.npz").meta.epoch == r.best_epoch


def test_early_stopping_counter_survives_resume(blobs, tmp_path, monkeypatch):
    """Interrupted while the patience counter is running, a resumed run stops where a straight one does."""
    extra = ("train.epochs=30", "train.early_stopping=3", "train.monitor=val_loss", "optimizer.lr=0.05",
             "schedule.name=constant")
    straight = _run(_cfg(blobs, *extra), tmp_path / "straight")
    assert straight.stopped_early
    # Interrupt one epoch before it stopped: the counter then stands at patience - 1, and a
    # resume that forgot it would train on past the straight run's last epoch.
    k = straight.epochs - 1
    per_epoch = -(-500 // 32)
    real = _ctrl_c_on_call(monkeypatch, data.Batcher, "gather", k * per_epoch + 1)
    out = tmp_path / "int"
    with pytest.raises(loop.Interrupted, match=f"holds epoch {k}"):
        _run(_cfg(blobs, *extra), out)
    assert checkpoint.load(out / "last.npz").meta.wait == 2
    monkeypatch.setattr(data.Batcher, "gather", real)
    resumed = _run(None, out, resume=out / "last.npz")
    assert resumed.stopped_early and resumed.epochs == straight.epochs
    assert np.array_equal(_params(out / "last.npz"), _params(tmp_path / "straight/last.npz"))


def test_ctrl_c_during_validation_still_says_how_to_resume(blobs, tmp_path, monkeypatch):
    _ctrl_c_on_call(monkeypatch, loop, "loss_and_score", 2)
    with pytest.raises(loop.Interrupted, match=r"last.npz holds epoch 1; resume with: mlpnet train --resume"):
        _run(_cfg(blobs, "train.epochs=3"), tmp_path / "r")


# -- rough edges a new user hit --------------------------------------------------------------

def test_run_name_comes_from_the_data(blobs):
    assert config.load(None, ["data.dataset=npz", f"data.path={blobs}"]).name == Path(blobs).stem
    assert config.load(None, ["data.dataset=fashion-mnist"]).name == "fashion-mnist"
    assert config.load(None, ["data.dataset=npz", f"data.path={blobs}", "name=mine"]).name == "mine"


def test_a_wrong_data_path_is_reported_before_an_occupied_directory(blobs, tmp_path):
    out = tmp_path / "run"
    _run(_cfg(blobs, "train.epochs=1"), out)
    with pytest.raises(DataError, match="nope.npz: no such file"):
        _run(config.load(None, ["data.dataset=npz", f"data.path={tmp_path / 'nope.npz'}"]), out)


def test_ties_in_the_monitored_metric_are_broken_by_the_other():
    from mlpnet.train.state import TrainState

    s = TrainState()
    rows = [{"epoch": 1, "val_accuracy": 1.0, "val_loss": 0.30}, {"epoch": 2, "val_accuracy": 1.0, "val_loss": 0.10},
            {"epoch": 3, "val_accuracy": 1.0, "val_loss": 0.20}, {"epoch": 4, "val_accuracy": 0.9, "val_loss": 0.01}]
    kept = []
    for r in rows:
        if s.improves(r, "val_accuracy"):
            s.record_best(r, "val_accuracy")
            kept.append(r["epoch"])
    assert kept == [1, 2] and s.best_epoch == 2


def test_val_size_float_is_a_fraction():
    with pytest.raises(ConfigError, match=r"data.val_size: 1.0 must be a count \(an integer such as 1\) or a fraction"):
        config.load(None, ["data.val_size=1.0"])
    assert config.load(None, ["data.val_size=1"]).data.val_size == 1


@pytest.mark.parametrize("key,value", [("model.hidden", "[100000000]"), ("train.batch_size", "1e12")])
def test_a_network_too_big_for_memory_names_the_key(blobs, tmp_path, key, value, monkeypatch):
    monkeypatch.setattr(build, "available_memory", lambda: 8 * 2**30)
    cfg = _cfg(blobs, "train.epochs=1", f"{key}={value}")
    if key == "train.batch_size":  # a batch larger than the data is just the whole set: fine
        _run(cfg, tmp_path / "ok")
        return
    with pytest.raises(ConfigError, match=r"model.hidden: \[100000000\] makes .* more than the 8.0 GB"):
        _run(cfg, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_epochs_are_bounded():
    with pytest.raises(ConfigError, match="train.epochs"):
        config.load(None, ["train.epochs=10000000"])


def test_threads_above_the_core_count_are_capped_with_a_note(blobs, tmp_path):
    msgs = []
    trainer.train(_cfg(blobs, "train.epochs=1", "train.threads=512"), (), tmp_path / "r", progress=False,
                  echo=msgs.append)
    assert any("train.threads=512 is more than the" in m for m in msgs)


def test_shortened_cosine_resume_says_the_rate_falls_faster(blobs, tmp_path, monkeypatch):
    out = tmp_path / "r"
    msgs = []
    trainer.train(_cfg(blobs, "train.epochs=2", "schedule.name=cosine", "train.early_stopping=0"), (), out,
                  progress=False, echo=msgs.append)
    msgs.clear()
    # Plan 2 epochs, then resume planning 3: the rate rises again; a run planned long and cut shorter falls faster.
    trainer.train(None, ["train.epochs=3"], out, resume=out / "last.npz", progress=False, echo=msgs.append)
    assert any("rises again" in m for m in msgs)
    long = tmp_path / "long"
    cfg = _cfg(blobs, "train.epochs=6", "schedule.name=cosine")
    real = _ctrl_c_on_call(monkeypatch, loop, "loss_and_score", 3)
    with pytest.raises(loop.Interrupted):
        trainer.train(cfg, (), long, progress=False, echo=lambda s: None)
    monkeypatch.setattr(loop, "loss_and_score", real)
    msgs.clear()
    trainer.train(None, ["train.epochs=4"], long, resume=long / "last.npz", progress=False, echo=msgs.append)
    assert any("falls faster" in m for m in msgs)


def test_overwrite_keeps_every_generation(blobs, tmp_path):
    out = tmp_path / "r"
    for seed in (1, 2, 3):
        trainer.train(_cfg(blobs, "train.epochs=1", f"seed={seed}"), (), out, overwrite=True, progress=False,
                      echo=lambda s: None)
    gens = sorted(p.name for p in out.iterdir() if p.name.startswith("previous"))
    assert len(gens) == 2 and "previous" in gens
    seeds = {checkpoint.load(out / g / "best.npz").meta.config["seed"] for g in gens}
    assert seeds == {1, 2} and checkpoint.load(out / "best.npz").meta.config["seed"] == 3


def test_latest_run_is_found_from_another_folder(blobs, tmp_path, monkeypatch):
    from mlpnet.train.rundir import default_model

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    trainer.train(_cfg(blobs, "train.epochs=1"), (), None, progress=False, echo=lambda s: None)
    assert (work / "runs" / "latest").is_symlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert default_model() == (work / "runs" / Path(blobs).stem / "best.npz").resolve()


def test_small_data_gets_smaller_batches_and_enough_steps(blobs, tmp_path):
    msgs = []
    cfg = config.load(None, ["data.dataset=npz", f"data.path={blobs}", "model.hidden=[8]", "train.epochs=auto",
                             "train.min_steps=100", "data.val_size=0.1", "schedule.name=constant"])
    r = trainer.train(cfg, (), tmp_path / "r", progress=False, echo=msgs.append)
    n_train = 600 - 60
    assert any(f"so this training set of {n_train} samples makes 17 updates per epoch" in m for m in msgs), msgs
    assert r.epochs == 15 and r.config.train.batch_size == 33
    # A large training set keeps its auto epochs: 540 samples in batches of 4 are 135 updates an epoch.
    big = trainer.train(config.load(None, ["data.dataset=npz", f"data.path={blobs}", "model.hidden=[8]",
                                           "train.batch_size=4", "train.min_steps=100000",
                                           "data.val_size=0.1", "train.early_stopping=1"]), (), tmp_path / "big",
                        progress=False, echo=lambda m: None)
    assert big.config.train.epochs == 15
    # The stored config says what the run did, so resuming it repeats it.
    assert config.load(tmp_path / "r" / "config.yaml").train.batch_size == 33
