"""Issue 19 point 4: every optimizer's and schedule's repr shows all of its parameters and rebuilds it."""

from __future__ import annotations

import pytest

from mlpnet.nn import optimizers, schedules

OPT_VALUES = {"momentum": 0.7, "nesterov": True, "beta1": 0.8, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.03}


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_optimizer_repr_shows_every_parameter(name):
    opt = optimizers.build(name, 10, 6, **OPT_VALUES)
    text = repr(opt)
    for key in optimizers._ARGS[name]:
        assert f"{key}={OPT_VALUES[key]!r}" in text, (key, text)
    again = optimizers.build(name, 10, 6, **opt.hyperparams())
    assert repr(again) == text


def test_adam_and_adamw_reprs_differ():
    a, w = (repr(optimizers.build(n, 4, 2, weight_decay=0.1)) for n in ("adam", "adamw"))
    assert a.startswith("Adam(") and w.startswith("AdamW(")


@pytest.mark.parametrize("name", list(schedules.SCHEDULES))
def test_schedule_repr_shows_every_parameter(name):
    s = schedules.build(name, 0.05, 12, 7, warmup=1.5, step_size=3, gamma=0.5, min_lr=0.001)
    text = repr(s)
    own = {"step": ("step_size=3", "gamma=0.5"), "cosine": ("min_lr=0.001",)}.get(name, ())
    for part in ("lr=0.05", "epochs=12", "steps_per_epoch=7", "warmup=1.5", *own):
        assert part in text, (part, text)
    hp = s.hyperparams()
    rebuilt = schedules.build(name, hp.pop("lr"), hp.pop("epochs"), hp.pop("steps_per_epoch"), **hp)
    assert repr(rebuilt) == text and [rebuilt(i) for i in range(0, 84, 5)] == [s(i) for i in range(0, 84, 5)]
