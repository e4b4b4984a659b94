"""What ``data.path`` and a folder of inputs mean on the command line (issue 18, 7-9)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mlpnet.cli import cli

from conftest import make_blobs_npz

IRIS = "sepal_length,sepal_width,species\n" + "\n".join(
    f"{5 + (i % 3) + 0.1 * (i % 7):.1f},{3 + 0.1 * (i % 5):.1f},{['setosa', 'versicolor', 'virginica'][i % 3]}"
    for i in range(60)) + "\n"


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def sample_model(tmp_path_factory) -> Path:
    """A small model trained on the built-in sample (every new user's first model)."""
    out = tmp_path_factory.mktemp("sample") / "run"
    r = _run("train", "--set", "data.dataset=mnist-sample", "--set", "train.epochs=1", "--set", "train.min_steps=0",
             "--set", "model.hidden=[16]", "-o", str(out), "--no-progress")
    assert r.exit_code == 0, r.output
    return out / "best.npz"


def test_evaluate_data_path_is_not_ignored_for_sample_models(sample_model, tmp_path):
    r = _run("evaluate", "--model", str(sample_model), "--set", f"data.path={tmp_path / 'nope.csv'}")
    assert r.exit_code != 0 and "nope.csv: no such file or folder" in r.output
    assert "accuracy" not in r.output
    own = make_blobs_npz(tmp_path / "digits-like.npz", n_train=50, n_test=30)
    r = _run("evaluate", "--model", str(sample_model), "--json", "--set", f"data.path={own}")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n"] == 30  # the file's 30 test images, not the sample's 2,000
    assert "inferred from the extension .npz" in r.stderr
    r = _run("evaluate", "--model", str(sample_model), "--set", "data.dataset=mnist-sample", "--set",
             f"data.path={own}")
    assert r.exit_code != 0 and "reads no path" in r.output


def test_data_path_alone_infers_the_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("iris.csv").write_text(IRIS)
    r = _run("train", "--set", "data.path=iris.csv", "--set", "train.epochs=1", "--set", "train.min_steps=0",
             "-o", "run", "--no-progress")
    assert r.exit_code == 0, r.output
    assert "no such folder" not in r.output
    assert "note: data.dataset: csv, inferred from the extension .csv (iris.csv)" in r.output
    r = _run("info", "run/best.npz")
    assert r.exit_code == 0 and "csv" in r.output
    # content decides when the extension does not: an .npz without one, a CSV named .data
    shutil.copy(make_blobs_npz(tmp_path / "b.npz", n_train=40, n_test=20), "blobs")
    shutil.copy("iris.csv", "iris.data")
    from mlpnet.data.formats import infer_format
    assert infer_format("blobs") == ("npz", "its content (a zip of arrays)")
    assert infer_format("iris.data") == ("csv", "its content (text)")
    Path("noise.bin").write_bytes(bytes(range(256)) * 4)
    r = _run("train", "--set", "data.path=noise.bin", "-o", "run2", "--no-progress")
    assert r.exit_code != 0 and "cannot tell the data's format" in r.output and "Traceback" not in r.output
    # a folder of class sub-folders is an image folder
    for k in ("a", "b"):
        (tmp_path / "pics" / k).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((8, 8), 20 * i + (100 if k == "b" else 0), np.uint8)).save(
                tmp_path / "pics" / k / f"{i}.png")
    assert infer_format(tmp_path / "pics")[0] == "folder"


def test_predict_folder_reads_only_its_images(sample_model, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.pad(np.full((10, 4), 255, np.uint8), 9)).save(folder / f"one-{i}.png")
    (folder / "labels.csv").write_text("file,label\none-0.png,1\n")
    (folder / "README.txt").write_text("my digits\n")
    r = _run("predict", "--model", str(sample_model), "--json", str(folder))
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)) == 3
    assert "skipped 2 file(s) that are not images (README.txt, labels.csv)" in r.stderr


def test_evaluate_reads_a_reordered_csv_by_name(tmp_path):
    """Another CSV for a CSV model: its columns are matched by name, as predict does (was: by position)."""
    from trained import FEATURES, train_tabular

    model = train_tabular(tmp_path)
    src = (tmp_path / "birds.csv").read_text().splitlines()
    cells = [line.split(",") for line in src]
    order = [4, 3, 2, 1, 0]  # species first, features reversed
    (tmp_path / "shuffled.csv").write_text("\n".join(",".join(r[i] for i in order) for r in cells) + "\n")
    straight = _run("evaluate", "--model", str(model), "--json", "--split", "train")
    swapped = _run("evaluate", "--model", str(model), "--json", "--split", "train",
                   "--set", f"data.path={tmp_path / 'shuffled.csv'}")
    assert straight.exit_code == 0 and swapped.exit_code == 0, swapped.output
    assert json.loads(swapped.stdout)["accuracy"] == json.loads(straight.stdout)["accuracy"]
    (tmp_path / "fewer.csv").write_text("\n".join(",".join(r[1:]) for r in cells) + "\n")
    r = _run("evaluate", "--model", str(model), "--set", f"data.path={tmp_path / 'fewer.csv'}")
    assert r.exit_code != 0 and f"no feature column '{FEATURES[0]}'" in r.output


def test_a_file_given_to_a_folder_dataset_says_what_to_set(tmp_path):
    (tmp_path / "iris.csv").write_text(IRIS)
    r = _run("train", "--set", "data.dataset=mnist", "--set", f"data.path={tmp_path / 'iris.csv'}",
             "-o", str(tmp_path / "run"), "--no-progress")
    assert r.exit_code != 0 and "no such folder" not in r.output and "set data.dataset" in r.output
