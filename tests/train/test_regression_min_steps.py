"""``train.min_steps: auto`` is the task's (train/sizing.py); a number is kept."""

from mlpnet.train import sizing


def test_auto_min_steps_is_the_tasks():
    assert sizing.min_steps("auto", "classification") == 1000
    assert sizing.min_steps("auto", "multilabel") == 1000
    assert sizing.min_steps("auto", "regression") == 8000


def test_a_number_is_kept_whatever_the_task():
    assert sizing.min_steps(50, "regression") == 50
    assert sizing.min_steps(0, "classification") == 0


def test_regression_epochs_grow_to_the_regression_floor():
    p = sizing.plan(1440, "auto", "auto", min_batches=16, min_steps=sizing.min_steps("auto", "regression"))
    assert p.steps_per_epoch * p.epochs >= 8000
    assert any("train.min_steps=8000" in n for n in p.notes)
