"""Checkpoints: exact round trips, and refusal of anything unsafe or inconsistent."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from mlpnet import checkpoint
from mlpnet.checkpoint import Meta
from mlpnet.data.spec import InputSpec
from mlpnet.errors import CheckpointError
from mlpnet.nn.model import MLP, Architecture


def _model():
    return MLP(Architecture((6, 5, 3), "tanh", "softmax", 0.1)).init("he", np.random.default_rng(0))


def _meta(**fields) -> Meta:
    spec = InputSpec("table", features=[f"f{i}" for i in range(6)], mean=np.arange(6.0), std=np.ones(6))
    return Meta(classes=["a", "b", "c"], input=spec, **fields)


def _save(tmp_path, **fields):
    p = tmp_path / "m.npz"
    checkpoint.save(p, _model(), _meta(**fields))
    return p


def _rewrite(src, dst, edit):
    """Copy an npz, letting ``edit(dict)`` change its arrays."""
    with np.load(src, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    edit(arrays)
    np.savez(dst, **arrays)
    return dst


def test_round_trip_is_exact(tmp_path):
    m = _model()
    p = tmp_path / "m.npz"
    checkpoint.save(p, m, _meta(epoch=3))
    c = checkpoint.load(p)
    assert c.model.arch == m.arch and np.array_equal(c.model.params, m.params)
    assert c.meta.epoch == 3 and c.classes == ["a", "b", "c"] and c.meta.format_version == 2
    assert c.input.to_dict() == _meta().input.to_dict() == {"kind": "table", "features": [f"f{i}" for i in range(6)]}
    assert c.input.mean.tolist() == list(range(6)) and c.input.std.tolist() == [1.0] * 6
    x = np.random.default_rng(1).random((4, 6), dtype=np.float32)
    assert np.array_equal(c.model.forward(x), m.forward(x))


def test_arrays_are_named_and_plain(tmp_path):
    p = _save(tmp_path)
    with np.load(p, allow_pickle=False) as f:
        assert {"weights.0", "weights.1", "biases.0", "biases.1", "input.mean", "__meta__"} <= set(f.files)
        assert f["weights.0"].shape == (6, 5) and f["biases.1"].shape == (3,)
        meta = json.loads(str(f["__meta__"]))
    assert meta["architecture"]["sizes"] == [6, 5, 3]
    assert checkpoint.load(p).input.mean.tolist() == list(range(6))


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    p = _save(tmp_path)
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError):
        checkpoint.save(p, _model(), _meta())
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left


def test_object_array_is_refused_not_unpickled(tmp_path):
    p = _save(tmp_path)
    bad = tmp_path / "obj.npz"

    class Canary:
        def __reduce__(self):
            return (pytest.fail, ("unpickled!",))

    _rewrite(p, bad, lambda a: a.update({"evil": np.array([Canary()], dtype=object)}))
    with pytest.raises(CheckpointError, match="obj.npz: contains pickled data or object arrays; refusing"):
        checkpoint.load(bad)


def test_pickle_file_is_refused(tmp_path):
    bad = tmp_path / "pickled.npz"
    bad.write_bytes(pickle.dumps({"weights.0": [1, 2]}))
    with pytest.raises(CheckpointError, match="pickled.npz: contains pickled data"):
        checkpoint.load(bad)


def test_unknown_format_version(tmp_path):
    p = _save(tmp_path)

    def bump(a):
        meta = json.loads(str(a["__meta__"]))
        meta["format_version"] = 99
        a["__meta__"] = np.array(json.dumps(meta))

    with pytest.raises(CheckpointError, match="format version 99 is not supported"):
        checkpoint.load(_rewrite(p, tmp_path / "v99.npz", bump))


def test_missing_array(tmp_path):
    p = _save(tmp_path)
    with pytest.raises(CheckpointError, match="array 'biases.1' is missing"):
        checkpoint.load(_rewrite(p, tmp_path / "x.npz", lambda a: a.pop("biases.1")))


def test_shape_mismatch_names_array_and_architecture(tmp_path):
    p = _save(tmp_path)
    with pytest.raises(CheckpointError, match=r"'weights.1' has shape \(4, 3\), but the recorded architecture 6-5-3 needs \(5, 3\)"):
        checkpoint.load(_rewrite(p, tmp_path / "x.npz", lambda a: a.update({"weights.1": np.zeros((4, 3), np.float32)})))


def test_extra_layer_is_refused(tmp_path):
    p = _save(tmp_path)
    with pytest.raises(CheckpointError, match="weights.2 do not fit"):
        checkpoint.load(_rewrite(p, tmp_path / "x.npz", lambda a: a.update({"weights.2": np.zeros((3, 3))})))


def test_truncated_file(tmp_path):
    p = _save(tmp_path)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(CheckpointError, match="cut.npz: truncated or corrupt checkpoint"):
        checkpoint.load(cut)


def test_not_a_checkpoint(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(3))
    with pytest.raises(CheckpointError, match="plain.npz: not an mlpnet checkpoint"):
        checkpoint.load(plain)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="text.npz"):
        checkpoint.load(text)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoint.load(tmp_path / "missing.npz")


def test_non_npz_files_are_named_as_such(tmp_path):
    csv = tmp_path / "iris.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(CheckpointError, match=r"iris.csv: not an .npz checkpoint$"):
        checkpoint.load(csv)
    npy = tmp_path / "one.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(CheckpointError, match=r"a single .npy array"):
        checkpoint.load(npy)


def test_files_get_normal_permissions(tmp_path):
    import os
    import stat

    p = _save(tmp_path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask
