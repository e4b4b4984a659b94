"""``mlpnet train/evaluate/predict/info`` on regression and multilabel CSV files, and their bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mlpnet import checkpoint
from mlpnet.cli import cli

FAST = ["--set", "model.hidden=[16]", "--set", "train.epochs=8", "--set", "model.dropout=0"]


def _write(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.fixture
def reg_csv(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y1 = 50 + 10 * x[:, 0] - 4 * x[:, 1]
    y2 = -2 + x[:, 2]
    rows = [[f"{a:.4f}", f"{b:.4f}", f"{c:.4f}", f"{t:.3f}", f"{u:.3f}"] for (a, b, c), t, u in zip(x, y1, y2)]
    return _write(tmp_path / "reg.csv", ["a", "b", "c", "price", "score"], rows)


def _train(tmp_path, csv, *extra):
    r = CliRunner().invoke(cli, ["train", "--set", f"data.path={csv}", *FAST, *extra, "-o",
                                 str(tmp_path / "run")])
    return r


def test_auto_task_trains_a_regressor_and_evaluate_reports_r2(reg_csv, tmp_path):
    r = _train(tmp_path, reg_csv, "--set", "data.label_column=price", "--set", "data.ignore_columns=[score]",
               "--set", "train.epochs=40")
    assert r.exit_code == 0, r.output
    assert "task: regression, guessed from the label column 'price'" in r.output
    assert "r2" in r.output
    best = tmp_path / "run" / "best.npz"
    ckpt = checkpoint.load(best)
    assert ckpt.task == "regression" and ckpt.target_names == ["price"]
    assert ckpt.meta.config["task"] == "regression" and ckpt.meta.config["loss"] == "squared_error"
    assert ckpt.meta.config["train"]["monitor"] == "val_r2"
    assert abs(ckpt.target_stats["mean"][0] - 50) < 3
    r = CliRunner().invoke(cli, ["evaluate", "--model", str(best), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["task"] == "regression" and {"r2", "mae", "rmse"} <= set(d)
    assert d["r2"] > 0.9 and d["targets"][0]["name"] == "price"
    r = CliRunner().invoke(cli, ["info", "--model", str(best)])
    assert "regression" in r.output


def test_multi_output_regression_with_huber_and_predict(reg_csv, tmp_path):
    r = _train(tmp_path, reg_csv, "--set", "data.label_column=[price, score]", "--set", "loss=huber")
    assert r.exit_code == 0, r.output
    best = tmp_path / "run" / "best.npz"
    assert checkpoint.load(best).target_names == ["price", "score"]
    rows = _write(tmp_path / "rows.csv", ["a", "b", "c"], [[0.5, -1, 0.2], [0, 0, 0]])
    r = CliRunner().invoke(cli, ["predict", str(rows), "--model", str(best), "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert set(got[0]["values"]) == {"price", "score"}
    assert 30 < got[1]["values"]["price"] < 70  # in the target's units, not standardized
    r = CliRunner().invoke(cli, ["evaluate", "--model", str(best), "--json"])
    d = json.loads(r.stdout)
    assert [t["name"] for t in d["targets"]] == ["price", "score"]
    tsv = tmp_path / "rows.tsv"  # .tsv, .tab and .txt are delimited text for predict as for train
    tsv.write_text("a\tb\tc\n0.5\t-1\t0.2\n0\t0\t0\n")
    r = CliRunner().invoke(cli, ["predict", str(tsv), "--model", str(best), "--json"])
    assert r.exit_code == 0, r.output
    assert [a["values"] for a in json.loads(r.stdout)] == [a["values"] for a in got]


def test_multilabel_columns(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(240, 3))
    a, b = (x[:, 0] > 0).astype(int), (x[:, 1] > 0).astype(int)
    c = 1 - (a | b)  # never an empty row
    rows = [[f"{u:.3f}", f"{v:.3f}", f"{w:.3f}", p, q, s] for (u, v, w), p, q, s in zip(x, a, b, c)]
    csv = _write(tmp_path / "ml.csv", ["u", "v", "w", "red", "green", "none"], rows)
    r = _train(tmp_path, csv, "--set", "data.label_column=[red, green, none]")
    assert r.exit_code == 0, r.output
    assert "task: multilabel" in r.output
    best = tmp_path / "run" / "best.npz"
    assert checkpoint.load(best).task == "multilabel"
    r = CliRunner().invoke(cli, ["evaluate", "--model", str(best), "--json"])
    d = json.loads(r.stdout)
    assert {"subset_accuracy", "hamming_loss", "f1_micro", "f1_macro"} <= set(d)
    rows = _write(tmp_path / "rows.csv", ["u", "v", "w"], [[2, 2, 0]])
    r = CliRunner().invoke(cli, ["predict", str(rows), "--model", str(best), "--json"])
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.stdout)[0]["labels"]) <= {"red", "green", "none"}
    pytest.importorskip("matplotlib", reason="the plots need mlpnet[plot]")
    r = CliRunner().invoke(cli, ["evaluate", "--model", str(best), "-o", str(tmp_path / "plots")])
    assert r.exit_code == 0, r.output
    from PIL import Image

    with Image.open(tmp_path / "plots" / "label_confusion.png") as im:  # one panel per label
        assert im.width > 3 * im.height


def _one_line_error(r, *words):
    assert r.exit_code != 0
    assert "Traceback" not in r.output
    err = [line for line in r.output.splitlines() if line.startswith("error")]
    assert len(err) == 1, r.output
    for w in words:
        assert w in err[0], err[0]


def test_float_target_with_task_classification(reg_csv, tmp_path):
    r = _train(tmp_path, reg_csv, "--set", "data.label_column=price", "--set", "task=classification")
    _one_line_error(r, "decimal numbers", "task: regression")


def test_word_target_with_task_regression(tmp_path):
    csv = _write(tmp_path / "w.csv", ["a", "b", "label"], [[i, i % 3, "cat" if i % 2 else "dog"] for i in range(40)])
    r = _train(tmp_path, csv, "--set", "task=regression")
    _one_line_error(r, "line 2", "'label'", "not a number")


@pytest.mark.parametrize("bad", ["inf", "nan", "NA"])
def test_non_finite_or_missing_target(tmp_path, bad):
    rows = [[i, i % 3, f"{i * 0.37:.2f}"] for i in range(40)]
    rows[5][2] = bad
    csv = _write(tmp_path / "t.csv", ["a", "b", "y"], rows)
    r = _train(tmp_path, csv, "--set", "data.label_column=y", "--set", "task=regression")
    _one_line_error(r, "line 7")


def test_multilabel_row_of_zeros_is_named(tmp_path):
    rows = [[i, i % 2, 1 - i % 2] for i in range(40)]
    rows[9] = [9, 0, 0]
    csv = _write(tmp_path / "m.csv", ["a", "x", "y"], rows)
    r = _train(tmp_path, csv, "--set", "data.label_column=[x, y]", "--set", "task=multilabel")
    _one_line_error(r, "line 11", "no label is 1")


def test_loss_of_another_task_is_refused(reg_csv, tmp_path):
    r = CliRunner().invoke(cli, ["train", "--set", f"data.path={reg_csv}", "--set", "loss=huber", "--set",
                                 "task=classification"])
    _one_line_error(r, "loss", "huber", "regression")


def _weighted_csv(tmp_path, weights):
    rows = [[i, (i * 7) % 5, i % 2, weights[i]] for i in range(40)]
    return _write(tmp_path / "wt.csv", ["a", "b", "label", "wt"], rows)


def test_weight_column_is_not_a_feature_and_weighs_the_loss(tmp_path):
    csv = _weighted_csv(tmp_path, [1.0 + (i % 3) for i in range(40)])
    r = _train(tmp_path, csv, "--set", "data.weight_column=wt")
    assert r.exit_code == 0, r.output
    ckpt = checkpoint.load(tmp_path / "run" / "best.npz")
    assert ckpt.input.features == ["a", "b"]
    from mlpnet import data
    from mlpnet.config import stored_config

    cfg = stored_config(ckpt.meta.config, "x")
    ds = data.load(cfg.data, cfg.seed, task="classification")
    assert ds.train.w is not None and set(np.unique(ds.train.w)) <= {1.0, 2.0, 3.0}


def test_weights_with_batches_of_one_say_they_divide_out(tmp_path):
    """With one row a step, sum(w g) / sum(w) is g: a weight changes nothing unless it is 0 (scikit-learn's
    convention too); the run says so rather than silently ignoring the column."""
    csv = _weighted_csv(tmp_path, [1.0 + (i % 3) for i in range(40)])
    r = _train(tmp_path, csv, "--set", "data.weight_column=wt", "--set", "train.batch_size=1")
    assert r.exit_code == 0, r.output
    assert "note: train.batch_size is 1, and a step's gradient is averaged over its rows' weights" in r.output
    r = _train(tmp_path, csv, "--set", "data.weight_column=wt", "--set", "train.batch_size=4", "--overwrite")
    assert r.exit_code == 0, r.output
    assert "train.batch_size is 1" not in r.output


@pytest.mark.parametrize("bad, words", [(-1, ["line 5", "negative"]), ("x", ["line 5", "not a number"]),
                                        ("inf", ["line 5", "finite"])])
def test_bad_weights(tmp_path, bad, words):
    weights = [1.0] * 40
    weights[3] = bad
    r = _train(tmp_path, _weighted_csv(tmp_path, weights), "--set", "data.weight_column=wt")
    _one_line_error(r, "'wt'", *words)


def test_unknown_weight_column(tmp_path):
    r = _train(tmp_path, _weighted_csv(tmp_path, [1] * 40), "--set", "data.weight_column=weight")
    _one_line_error(r, "no weight column 'weight'")


def test_class_weight_balanced_and_mapping(tmp_path):
    rows = [[i, i % 5, "rare" if i % 10 == 0 else "common"] for i in range(60)]
    csv = _write(tmp_path / "imb.csv", ["a", "b", "label"], rows)
    r = _train(tmp_path, csv, "--set", "train.class_weight=balanced")
    assert r.exit_code == 0, r.output
    assert "train.class_weight: common" in r.output and "rare" in r.output
    r = _train(tmp_path, csv, "--set", "train.class_weight={rare: 5}", "--overwrite")
    assert r.exit_code == 0, r.output
    r = _train(tmp_path, csv, "--set", "train.class_weight={nope: 5}", "--overwrite")
    _one_line_error(r, "'nope' is not a class")
    r = _train(tmp_path, csv, "--set", "train.class_weight=heavy", "--overwrite")
    _one_line_error(r, "train.class_weight", "balanced")


def test_zero_weights_remove_a_class_from_training(tmp_path):
    # class 1 rows weigh 0: the network never learns it, so it predicts class 0 everywhere
    csv = _weighted_csv(tmp_path, [1.0 if i % 2 == 0 else 0.0 for i in range(40)])
    r = _train(tmp_path, csv, "--set", "data.weight_column=wt", "--set", "train.epochs=150",
               "--set", "optimizer.lr=0.01", "--set", "data.val_size=0")
    assert r.exit_code == 0, r.output
    ckpt = checkpoint.load(tmp_path / "run" / "last.npz")
    x = np.c_[np.arange(40), (np.arange(40) * 7) % 5]
    assert set(ckpt.predict(x).tolist()) == {"0"}
