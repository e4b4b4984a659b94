"""The checkpoint knows its task: ``Checkpoint.task`` and ``Checkpoint.predict`` in the user's units."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import mlpnet
from mlpnet import checkpoint
from mlpnet.cli import cli as main
from mlpnet.errors import DataError


def _regression_data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = np.c_[100 + 20 * x[:, 0] - 5 * x[:, 1], -3 + x[:, 2]]
    return x, y


def test_regressor_checkpoint_predicts_in_user_units(tmp_path):
    x, y = _regression_data()
    est = mlpnet.MLPRegressor(hidden_layer_sizes=(16,), max_iter=50, random_state=0).fit(x, y)
    path = est.save(tmp_path / "reg.npz")
    ckpt = checkpoint.load(path)
    assert ckpt.task == "regression"
    assert ckpt.target_names == ["y0", "y1"]
    got = ckpt.predict(x[:7])
    assert got.shape == (7, 2)
    np.testing.assert_allclose(got, est.predict(x[:7]), rtol=1e-5, atol=1e-4)
    # values in the targets' units, not standardized ones
    assert abs(got[:, 0].mean() - 100) < 30
    with pytest.raises(DataError, match="values, not probabilities"):
        ckpt.predict_proba(x[:2])
    back = mlpnet.load(path)
    np.testing.assert_allclose(back.predict(x[:7]), est.predict(x[:7]), rtol=1e-5, atol=1e-4)


def test_classifier_and_multilabel_checkpoints(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(90, 4))
    y = np.where(x[:, 0] > 0, 7, 3)
    clf = mlpnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(x, y)
    ckpt = checkpoint.load(clf.save(tmp_path / "clf.npz"))
    assert ckpt.task == "classification"
    labels = ckpt.predict(x[:9])
    assert labels.dtype.kind == "i" and np.array_equal(labels, clf.predict(x[:9]))

    ym = np.c_[x[:, 0] > 0, x[:, 1] > 0, np.ones(90)].astype(int)
    ml = mlpnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=80, random_state=0).fit(x, ym)
    ckpt = checkpoint.load(ml.save(tmp_path / "ml.npz"))
    assert ckpt.task == "multilabel"
    sets = ckpt.predict(x[:5])
    ind = ml.predict(x[:5])
    assert sets == [[ckpt.classes[j] for j in np.flatnonzero(r)] for r in ind]


def test_old_files_without_task_are_classifiers(tmp_path):
    ckpt = checkpoint.load("tests/fixtures/checkpoints/v1-table.npz")
    assert ckpt.task == "classification" and ckpt.target_stats == {}


def test_unknown_task_is_refused(tmp_path):
    x, y = _regression_data(40)
    path = mlpnet.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3).fit(x, y).save(tmp_path / "r.npz")
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    meta = json.loads(str(arrays["__meta__"]))
    arrays["__meta__"] = np.array(json.dumps({**meta, "task": "ranking"}))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(checkpoint.CheckpointError, match="ranking"):
        checkpoint.load(tmp_path / "bad.npz")


def test_cli_predict_prints_values_for_a_regressor(tmp_path):
    x, y = _regression_data()
    path = mlpnet.MLPRegressor(hidden_layer_sizes=(16,), max_iter=50, random_state=0).fit(x, y).save(
        tmp_path / "reg.npz")
    rows = tmp_path / "rows.csv"
    rows.write_text("x0,x1,x2\n" + "\n".join(",".join(map(str, r)) for r in x[:3]) + "\n")
    r = CliRunner().invoke(main, ["predict", str(rows), "--model", str(path), "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert [sorted(p["values"]) for p in got] == [["y0", "y1"]] * 3
    want = checkpoint.load(path).predict(x[:3])
    np.testing.assert_allclose([[p["values"]["y0"], p["values"]["y1"]] for p in got], want, rtol=1e-4, atol=1e-3)
    r = CliRunner().invoke(main, ["predict", str(rows), "--model", str(path)])
    assert r.exit_code == 0 and "y0 = " in r.stdout


def test_regressor_given_images_says_so(tmp_path):
    from PIL import Image

    x, y = _regression_data(40)
    path = mlpnet.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3).fit(x, y).save(tmp_path / "r.npz")
    Image.new("L", (28, 28)).save(tmp_path / "digit.png")
    r = CliRunner().invoke(main, ["predict", str(tmp_path / "digit.png"), "--model", str(path)])
    assert r.exit_code != 0
    assert "not images" in r.output and "Traceback" not in r.output
