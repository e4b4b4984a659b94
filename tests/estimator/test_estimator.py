"""Tests for mlpnet.MLPClassifier and mlpnet.load: the Python API on arrays and checkpoints."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import mlpnet
from mlpnet import checkpoint
from mlpnet.cli import cli
from mlpnet.predict import predict_files
from conftest import REPO, real_mnist_dir, skip_reason


def _blobs(n=240, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (k, d))
    y = rng.integers(0, k, n)
    return (centres[y] + rng.normal(0, 1, (n, d))) * 10 + 50, y  # far from zero mean, wide: needs standardizing


def test_fit_predict_keeps_label_types_and_history(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, y = _blobs()
    names = np.array(["cat", "dog", "eel"])[y]
    clf = mlpnet.MLPClassifier(max_iter=15, random_state=0).fit(x, names)
    assert list(clf.classes_) == ["cat", "dog", "eel"] and clf.n_features_in_ == 5
    pred = clf.predict(x)
    assert pred.dtype.kind == "U" and set(pred) <= {"cat", "dog", "eel"}
    assert clf.score(x, names) > 0.9
    p = clf.predict_proba(x)
    assert p.shape == (240, 3) and np.allclose(p.sum(axis=1), 1)
    assert len(clf.history_) == len(clf.loss_curve_) == clf.n_iter_ <= 15  # tol may end it sooner
    assert clf.history_[0]["train_loss"] == clf.loss_curve_[0] > clf.loss_curve_[-1]
    assert list(tmp_path.iterdir()) == []  # no run directory unless asked
    ints = mlpnet.MLPClassifier(max_iter=3, random_state=0).fit(x, y + 10)
    assert ints.predict(x).dtype.kind == "i" and set(ints.classes_) == {10, 11, 12}


def test_same_seed_same_model_and_params_untouched():
    x, y = _blobs()
    clf = mlpnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=3)
    before = clf.get_params()
    a = clf.fit(x, y).predict_proba(x)
    assert clf.get_params() == before
    b = mlpnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=3).fit(x, y).predict_proba(x)
    assert np.array_equal(a, b)


def test_bad_inputs_are_clear_errors():
    x, y = _blobs()
    clf = mlpnet.MLPClassifier(max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="not fitted"):
        clf.predict(x)
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.where(x > 60, np.nan, x), y)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        clf.fit(x, x[:, 0])
    with pytest.raises(ValueError, match="only 1 class"):
        clf.fit(x, np.zeros(len(x)))
    clf.fit(x, y)
    with pytest.raises(ValueError, match="X has 4 features, but MLPClassifier is expecting 5"):
        clf.predict(x[:, :4])
    with pytest.raises(ValueError, match="activation='swish' is not one of logistic, identity"):
        mlpnet.MLPClassifier(activation="swish").fit(x, y)


def test_pickle_round_trip():
    x, y = _blobs()
    clf = mlpnet.MLPClassifier(max_iter=3, random_state=0).fit(x, y)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(x), clf.predict_proba(x))
    w = again.model_.weights[0]
    assert np.shares_memory(w, again.model_.params)  # the views survive pickling


def test_save_is_an_ordinary_checkpoint_and_load_round_trips(tmp_path):
    x, y = _blobs()
    clf = mlpnet.MLPClassifier(max_iter=5, random_state=0).fit(x, y)
    path = clf.save(tmp_path / "m.npz")
    r = CliRunner().invoke(cli, ["info", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["architecture"]["sizes"] == [5, 100, 3]
    back = mlpnet.load(path)
    assert np.array_equal(back.classes_, clf.classes_) and back.classes_.dtype.kind == "i"
    # the checkpoint holds float32 weights, as the CLI's; the fitted model trained in float64
    np.testing.assert_allclose(back.predict_proba(x), clf.predict_proba(x), atol=1e-5)
    # mlpnet predict on the same raw rows, written as a CSV, gives the same probabilities.
    csv = tmp_path / "rows.csv"
    csv.write_text("x0,x1,x2,x3,x4\n" + "\n".join(",".join(repr(float(v)) for v in row) for row in x[:20]))
    res = predict_files(path, [str(csv)], top_k=3)
    cli_p = np.array([[t["probability"] for t in sorted(p.top_k, key=lambda t: t["index"])] for p in res.predictions])
    np.testing.assert_allclose(cli_p, clf.predict_proba(x[:20]), atol=1e-5)


def _digits():
    folder = real_mnist_dir()
    if folder is None:
        pytest.skip("needs the real MNIST test digits (../shared/data/mnist-t10k or MLPNET_TEST_MNIST)")
    from mlpnet.data.idx import read_idx_pair

    return read_idx_pair(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")


@pytest.mark.slow
def test_load_a_cli_trained_image_model_matches_mlpnet_predict(tmp_path, monkeypatch):
    """Raw pixels (n, 784) or (n, 28, 28) through mlpnet.load give mlpnet predict's probabilities."""
    x, y = _digits()
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "digits.npz", x_train=x[:2000], y_train=y[:2000], x_test=x[9000:9100], y_test=y[9000:9100])
    r = CliRunner().invoke(cli, ["train", "--set", "data.dataset=npz", "--set", "data.path=digits.npz",
                                 "--set", "model.hidden=[32]", "--set", "train.epochs=2", "--no-progress"])
    assert r.exit_code == 0, r.output
    model = mlpnet.load("runs/digits/best.npz")
    imgs = x[9000:9012]  # real digits come out of predict's preprocessing unchanged
    files = []
    for i, img in enumerate(imgs):
        files.append(tmp_path / f"d{i}.png")
        Image.fromarray(img).save(files[-1])
    res = predict_files("runs/digits/best.npz", [str(f) for f in files], top_k=10)
    want = np.array([[t["probability"] for t in sorted(p.top_k, key=lambda t: t["index"])] for p in res.predictions])
    np.testing.assert_allclose(model.predict_proba(imgs), want, atol=1e-6)
    np.testing.assert_allclose(model.predict_proba(imgs.reshape(12, -1)), want, atol=1e-6)
    np.testing.assert_allclose(model.predict_images_proba([str(f) for f in files]), want, atol=1e-6)
    assert list(model.predict_images([Image.open(files[0])])) == [res.predictions[0].label]


def test_images_as_arrays_are_scaled_not_standardized():
    x, y = _digits()
    clf = mlpnet.MLPClassifier(hidden_layer_sizes=(64,), max_iter=4, random_state=0).fit(x[:3000], y[:3000])
    assert clf.input_.kind == "image" and not clf.input_.stats
    assert clf.score(x[8000:], y[8000:]) > 0.8


def test_verbose_prints_scikit_learns_iteration_lines(capsys):
    x, y = _blobs()
    mlpnet.MLPClassifier(max_iter=2, random_state=0, verbose=True).fit(x, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out


def test_works_in_sklearn_pipelines_and_search():
    sk = pytest.importorskip("sklearn", reason=skip_reason("sklearn"))
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _blobs()
    clf = mlpnet.MLPClassifier(hidden_layer_sizes=(16,), max_iter=20, learning_rate_init=0.01, random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    pipe = make_pipeline(StandardScaler(), clf)
    assert pipe.fit(x, y).score(x, y) > 0.8
    scores = cross_val_score(mlpnet.MLPClassifier(max_iter=20, learning_rate_init=0.01, random_state=0), x, y, cv=3)
    assert len(scores) == 3 and scores.min() > 0.7
    gs = GridSearchCV(clf, {"learning_rate_init": [1e-3, 1e-2]}, cv=2).fit(x, y)
    assert gs.best_params_["learning_rate_init"] in (1e-3, 1e-2) and sk is not None


def test_accuracy_is_at_least_scikit_learns_on_small_tabular_sets():
    """Default parameters, raw features, string labels: within 0.02 of scikit-learn's MLP or better."""
    pytest.importorskip("sklearn", reason=skip_reason("sklearn"))
    from sklearn.datasets import load_breast_cancer, load_iris, load_wine
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    import warnings

    for loader in (load_iris, load_wine, load_breast_cancer):
        d = loader()
        y = np.asarray(d.target_names)[d.target]
        ours, theirs = [], []
        for seed in (0, 1):
            xa, xb, ya, yb = train_test_split(d.data, y, test_size=0.25, random_state=seed, stratify=y)
            ours.append(mlpnet.MLPClassifier(random_state=seed).fit(xa, ya).score(xb, yb))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs.append(make_pipeline(StandardScaler(), SkMLP(random_state=seed)).fit(xa, ya).score(xb, yb))
        assert np.mean(ours) >= np.mean(theirs) - 0.02, (loader.__name__, ours, theirs)


def test_usable_without_scikit_learn(tmp_path):
    """With scikit-learn hidden, the estimator still fits, predicts, scores and round-trips its params."""
    code = """
import sys
sys.modules["sklearn"] = None  # any import of sklearn now fails
import numpy as np, mlpnet
rng = np.random.default_rng(0)
y = rng.integers(0, 2, 200); x = y[:, None] * 3.0 + rng.normal(size=(200, 4))
clf = mlpnet.MLPClassifier(max_iter=5, random_state=0)
assert clf.get_params()["max_iter"] == 5 and clf.set_params(learning_rate_init=0.01) is clf
assert clf.learning_rate_init == 0.01
labels = np.array(["no", "yes"])[y]
assert clf.fit(x, labels).score(x, labels) > 0.9
assert "max_iter=5" in repr(clf) and "learning_rate_init=0.01" in repr(clf)
try:
    mlpnet.MLPClassifier().predict(x)
except ValueError as e:
    assert "not fitted" in str(e)
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_python_guide_example_runs(tmp_path, monkeypatch):
    """The Python guide's first example runs as written (in a scratch folder).

    tests/docs runs every block of every page (slow); this is the fast check of the main one.
    """
    pytest.importorskip("sklearn", reason="the example loads iris from scikit-learn")
    text = (REPO / "docs" / "guide" / "python.md").read_text()
    code = text.split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/guide/python.md", "exec"), {"__name__": "guide"})
    assert (tmp_path / "iris.npz").exists()
