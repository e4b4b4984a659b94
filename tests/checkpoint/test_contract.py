"""The model contract: InputSpec (what a model reads, and the one transform) and Meta (one writer, one reader)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlpnet import checkpoint
from mlpnet.checkpoint import Meta
from mlpnet.data.spec import PIXEL_SCALE, InputSpec
from mlpnet.errors import CheckpointError, DataError
from mlpnet.nn.model import MLP, Architecture

SCHEMA = {"missing": "mean", "columns": [{"name": "colour", "categories": ["blue", "red"]}, {"name": "size"}]}


def _table() -> InputSpec:
    return InputSpec("table", features=["colour=blue", "colour=red", "size"], csv=SCHEMA,
                     mean=np.array([0.5, 0.5, 10.0], np.float32), std=np.array([0.5, 0.5, 2.0], np.float32))


def test_image_inputs_are_pixels_times_the_one_scale():
    spec = InputSpec("image", height=2, width=2)
    x = spec.to_network(np.array([[[0, 51], [255, 102]]], np.uint8))
    assert x.dtype == np.float32 and x.shape == (1, 4)
    assert np.array_equal(x, np.array([[0, 51, 255, 102]], np.float32) * np.float32(PIXEL_SCALE))
    with pytest.raises(DataError, match="needs 4 pixels"):
        spec.to_network(np.zeros((1, 5)))


def test_table_rows_are_one_hot_encoded_then_standardized_and_missing_is_the_mean():
    spec = _table()
    got = spec.to_network([["red", 12], ["blue", None], [None, "8"]])
    want = (np.array([[0, 1, 12], [1, 0, 10], [0.5, 0.5, 8]], np.float32) - spec.mean) / spec.std
    np.testing.assert_allclose(got, want)
    # rows the CSV reader already encoded (the network's width) are only standardized
    np.testing.assert_allclose(spec.to_network(np.array([[0, 1, 12]], np.float32)), want[:1])
    with pytest.raises(DataError, match="'green' is not one of the categories|row 0"):
        InputSpec("table", features=spec.features, csv={**SCHEMA, "missing": "error"}).to_network([["green", 1]])
    with pytest.raises(DataError, match="has 1 values, the model needs 2"):
        spec.to_network([["red"]])


def test_format_1_input_entries_read_as_version_2_specs():
    old = {"kind": "tabular", "features": ["a"], "someday": 1}
    spec = InputSpec.from_dict(old, {"mean": np.zeros(1), "std": np.ones(1)})
    assert spec.kind == "table" and spec.columns == ["a"] and spec.stats["std"].tolist() == [1.0]
    assert spec.to_dict() == {"someday": 1, "kind": "table", "features": ["a"]}
    with pytest.raises(DataError, match="input kind 'audio'"):
        InputSpec.from_dict({"kind": "audio"})


def test_meta_round_trips_and_keeps_keys_it_does_not_know(tmp_path):
    model = MLP(Architecture((3, 4, 2))).init("he", np.random.default_rng(0))
    meta = Meta(classes=["no", "yes"], input=_table(), labels=[0, 1], epoch=2, history=[{"epoch": 1}],
                best={"epoch": 2, "monitor": "val_loss", "value": 0.5}, extra={"from_the_future": [1, 2]})
    checkpoint.save(tmp_path / "m.npz", model, meta)
    back = checkpoint.load(tmp_path / "m.npz").meta
    assert (back.classes, back.labels, back.epoch, back.history, back.best) == (
        meta.classes, meta.labels, meta.epoch, meta.history, meta.best)
    assert back.extra == {"from_the_future": [1, 2]} and back.format_version == checkpoint.FORMAT_VERSION
    assert back.input.to_dict() == meta.input.to_dict() and np.array_equal(back.input.mean, meta.input.mean)
    assert back.epochs_run == 2 and not back.resumable


def test_a_newer_format_is_refused_in_one_line(tmp_path):
    model = MLP(Architecture((3, 2)))
    checkpoint.save(tmp_path / "m.npz", model, Meta(classes=["a", "b"], input=_table()))
    with np.load(tmp_path / "m.npz") as f:
        arrays = {k: f[k] for k in f.files}
    raw = json.loads(str(arrays["__meta__"]))
    arrays["__meta__"] = np.array(json.dumps({**raw, "format_version": 3}))
    np.savez(tmp_path / "new.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"new\.npz: checkpoint format version 3 is not supported"):
        checkpoint.load(tmp_path / "new.npz")


def test_checkpoint_predicts_from_raw_inputs_in_float64_and_exposes_hidden_layers(tmp_path):
    model = MLP(Architecture((3, 4, 2), activation="relu")).init("he", np.random.default_rng(1))
    checkpoint.save(tmp_path / "m.npz", model, Meta(classes=["a", "b"], input=_table()))
    ckpt = checkpoint.load(tmp_path / "m.npz")
    rows = [["red", 12], ["blue", None]]
    x = ckpt.input.to_network(rows)
    np.testing.assert_allclose(ckpt.predict_proba(rows), model.predict_proba(x), atol=1e-6)
    hidden = ckpt.hidden(rows)
    assert len(hidden) == 1 and hidden[0].shape == (2, 4) and hidden[0].dtype == np.float64
    np.testing.assert_allclose(hidden[0], np.maximum(x @ model.weights[0] + model.biases[0], 0), atol=1e-6)
