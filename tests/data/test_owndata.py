"""Users' own data: CSV tables and image folders, through training, evaluate and predict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mlpnet import checkpoint, config, data
from mlpnet.train import api as trainer, build, loop, report
from mlpnet.cli import cli
from mlpnet.errors import DataError

from conftest import draw_shape, small_config, train_small, skip_reason


def _csv(path: Path, n=300, seed=0, labels=("cat", "dog", "eel"), header=None):
    """Three well-separated Gaussian classes in 4 features (on very different scales), string labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(labels), n)
    centres = np.array([[0, 0, 0, 0], [3, 3, 0, 0], [0, 3, 3, 0]], float)
    x = centres[y] + rng.normal(0, 0.5, (n, 4))
    x *= [1, 100, 0.01, 1000]  # standardization must undo these scales
    cols = header or ["f1", "f2", "f3", "f4", "species"]
    lines = [",".join(cols)] + [",".join(f"{v:.6g}" for v in row) + f",{labels[k]}" for row, k in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(tmp_path, *extra):
    cfg = small_config(tmp_path / "train.csv", "data.label_column=species", "data.val_size=0.1", "train.epochs=15",
                       "optimizer.lr=0.01", "model.dropout=0", "train.batch_size=16", *extra)
    return train_small(cfg, tmp_path / "run")


def test_csv_string_labels_standardized_and_stored(tmp_path):
    _csv(tmp_path / "train.csv")
    r = _train(tmp_path)
    assert r.test["accuracy"] > 0.9 and r.test["n"] == 60  # data.test_size 0.2 held out
    ckpt = checkpoint.load(tmp_path / "run/best.npz")
    assert ckpt.classes == ["cat", "dog", "eel"]
    assert ckpt.input.kind == "table" and ckpt.input.features == ["f1", "f2", "f3", "f4"]
    assert ckpt.input.columns == ["f1", "f2", "f3", "f4"]
    stats = ckpt.input.stats
    assert stats["mean"].shape == (4,) and stats["std"][1] > 10 * stats["std"][0]  # scales were learned


def test_csv_separate_test_file_and_predict_rows(tmp_path, monkeypatch):
    _csv(tmp_path / "train.csv")
    _csv(tmp_path / "test.csv", n=50, seed=1)
    r = _train(tmp_path, f"data.test_path={tmp_path / 'test.csv'}")
    assert r.test["n"] == 50 and r.test["accuracy"] > 0.9
    # predict reads a CSV by column name, ignores the label column, applies the stored statistics
    rows = tmp_path / "rows.csv"
    text = (tmp_path / "test.csv").read_text().splitlines()
    rows.write_text("\n".join(text[:6]) + "\n")
    res = CliRunner().invoke(cli, ["predict", str(rows), "--model", str(tmp_path / "run/best.npz"), "--json"])
    assert res.exit_code == 0, res.output
    preds = json.loads(res.output)
    truth = [line.split(",")[-1] for line in text[1:6]]
    assert [p["row"] for p in preds] == [1, 2, 3, 4, 5]
    assert sum(p["label"] == t for p, t in zip(preds, truth)) >= 4
    # evaluate on the same model and another file
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(tmp_path / "run/best.npz"), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["classes"] == ["cat", "dog", "eel"]


@pytest.mark.parametrize("mutate,match", [
    (lambda p: p.write_text(p.read_text().replace("species", "kind")), "no label column 'species'"),
    (lambda p: p.write_text(p.read_text().replace("\n1", "\nabc", 1) if "\n1" in p.read_text()
                            else p.read_text().replace("\n-", "\nabc", 1)), "not a number"),
])
def test_csv_errors_name_file(tmp_path, mutate, match):
    p = _csv(tmp_path / "train.csv")
    mutate(p)
    with pytest.raises(DataError, match=match) as err:
        _train(tmp_path)
    assert "train.csv" in str(err.value)


def test_class_only_in_test_file_is_an_error(tmp_path):
    _csv(tmp_path / "train.csv", labels=("cat", "dog", "dog"))
    _csv(tmp_path / "test.csv", n=30, seed=2)
    with pytest.raises(DataError, match="test.csv"):
        _train(tmp_path, f"data.test_path={tmp_path / 'test.csv'}")


def _folder(root: Path, per_class=40, seed=0, names=("bar", "pillar", "cross", "frame"), invert=True, size=56):
    """Class folders of PNGs in the style of user drawings: dark strokes on white, larger than 28x28."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(names):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = draw_shape(k, rng)
            if invert:
                img = 255 - img
            Image.fromarray(img).resize((size, size)).save(root / name / f"{i}.png")
    return root


def test_image_folder_gray_goes_through_mnist_preprocessing(tmp_path):
    _folder(tmp_path / "imgs")
    cfg = config.load(None, ["data.dataset=folder", f"data.path={tmp_path / 'imgs'}", "data.val_size=0.1",
                             "model.hidden=[32]", "train.epochs=10", "optimizer.lr=0.005"])
    ds = data.load(cfg.data, cfg.seed)
    assert ds.classes == ["bar", "cross", "frame", "pillar"] and ds.n_features == 784
    # after preprocessing the ink is light on black, like MNIST
    assert ds.train.x.reshape(-1, 28, 28)[:, 0, :].mean() < 5
    r = trainer.train(cfg, (), tmp_path / "run", progress=False, echo=lambda s: None)
    assert r.test["accuracy"] > 0.9


def test_image_folder_train_test_subtrees_and_rgb(tmp_path):
    _folder(tmp_path / "imgs/train", per_class=20)
    _folder(tmp_path / "imgs/test", per_class=5, seed=1)
    cfg = config.load(None, ["data.dataset=folder", f"data.path={tmp_path / 'imgs'}", "data.image_mode=rgb",
                             "data.image_size=16", "data.val_size=0"])
    ds = data.load(cfg.data, cfg.seed)
    assert ds.n_features == 16 * 16 * 3 and len(ds.test) == 20 and len(ds.train) == 80
    assert ds.input.channels == 3 and ds.input.preprocess == "resize"


def test_image_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = config.load(None, ["data.dataset=folder", f"data.path={tmp_path / 'empty'}"])
    with pytest.raises(DataError, match="empty: no class sub-folders with images"):
        data.load(cfg.data, 0)
    _folder(tmp_path / "mixed", per_class=3)
    Image.new("RGB", (30, 20), "white").save(tmp_path / "mixed/bar/odd.png")
    cfg = config.load(None, ["data.dataset=folder", f"data.path={tmp_path / 'mixed'}", "data.image_mode=rgb"])
    with pytest.raises(DataError, match=r"odd.png: image is 30x20 but .* is 56x56; .*data.image_size"):
        data.load(cfg.data, 0)


def test_sklearn_digits_as_csv(tmp_path):
    """A well-known tabular set (scikit-learn's 8x8 digits, 1,797 rows), written out as CSV."""
    datasets = pytest.importorskip("sklearn.datasets", reason=skip_reason("sklearn.datasets"))
    d = datasets.load_digits()
    cols = [f"p{i}" for i in range(64)] + ["digit"]
    lines = [",".join(cols)] + [",".join(str(int(v)) for v in row) + f",{t}" for row, t in zip(d.data, d.target)]
    (tmp_path / "digits.csv").write_text("\n".join(lines) + "\n")
    cfg = config.load(None, ["data.dataset=csv", f"data.path={tmp_path / 'digits.csv'}", "data.label_column=digit",
                             "data.val_size=0.1", "model.hidden=[64]", "train.epochs=30", "train.batch_size=32",
                             "model.dropout=0.1"])
    r = trainer.train(cfg, (), tmp_path / "run", progress=False, echo=lambda s: None)
    # 359 held-out rows (stratified) (data.test_size 0.2); stated in the README
    assert r.test["n"] == 359 and r.test["accuracy"] >= 0.95, r.test
