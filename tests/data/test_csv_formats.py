"""CSV files as people have them: no header, other delimiters, missing values, words, pixels, ids."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import draw_shape
from PIL import Image

from mlpnet import checkpoint, config, data
from mlpnet.cli import cli
from mlpnet.errors import DataError
from mlpnet.data.csv import CsvOptions, read_csv, read_pixel_rows, read_rows
from mlpnet.data.transforms import Standardizer


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error(path: Path, match: str, **kw) -> str:
    with pytest.raises(DataError, match=match) as info:
        read_csv(path, options=CsvOptions(**kw))
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


# --- header, label column, delimiter, ignored columns ------------------------------------


def test_first_row_of_numbers_is_refused_naming_the_option(tmp_path: Path) -> None:
    path = write(tmp_path, "3,0,255\n1,9,0\n")
    error(path, r"first row looks like data.*data\.header: false")
    t = read_csv(path, options=CsvOptions(header=False, label_column=0))
    assert t.features == ["1", "2"] and t.classes == ["1", "3"]
    np.testing.assert_array_equal(t.x, [[0, 255], [9, 0]])


def test_pandas_numbered_header_is_a_header(tmp_path: Path) -> None:
    t = read_csv(write(tmp_path, "0,1,2\n5,6,a\n7,8,b\n"), options=CsvOptions(label_column="2"))
    assert t.features == ["0", "1"] and t.classes == ["a", "b"]


def test_label_column_by_index(tmp_path: Path) -> None:
    path = write(tmp_path, "species,a,b\nx,1,2\ny,3,4\n")
    assert read_csv(path, options=CsvOptions(label_column=0)).classes == ["x", "y"]
    assert read_csv(path, options=CsvOptions(label_column=-1)).features == ["species=x", "species=y", "a"]
    error(path, r"index 3 is out of range for 3 columns", label_column=3)


def test_absent_label_uses_a_last_column_of_few_values_and_says_so(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i * 0.5},{'ab'[i % 2]}" for i in range(10))
    t = read_csv(write(tmp_path, "u,v,kind\n" + rows + "\n"))
    assert t.classes == ["a", "b"] and t.features == ["u", "v"]
    assert len(t.notes) == 1 and "'kind'" in t.notes[0] and "data.label_column" in t.notes[0]
    # A last column of many distinct values is not a label: the error lists the columns.
    many = "\n".join(f"{i},{i * 0.5},{i * 1.7}" for i in range(10))
    error(write(tmp_path, "u,v,w\n" + many + "\n", "b.csv"), r"no label column .label.*its columns are: u, v, w")


def test_headerless_pixel_file_takes_the_first_column_as_label(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(6, 784))
    y = np.arange(6) % 3
    lines = [",".join(map(str, [y[i], *x[i]])) for i in range(6)]
    t = read_csv(write(tmp_path, "\n".join(lines) + "\n"), options=CsvOptions(header=False))
    assert t.image and t.x.dtype == np.uint8 and t.x.shape == (6, 784)
    np.testing.assert_array_equal(t.x, x)
    np.testing.assert_array_equal(t.y, y)
    assert "first column '0'" in t.notes[0]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_is_detected(tmp_path: Path, sep: str) -> None:
    text = sep.join(["a", "b", "label"]) + "\n" + "\n".join(sep.join([f"{i},5", str(i), "xy"[i % 2]])
                                                            if sep == ";" else sep.join([str(i), str(i), "xy"[i % 2]])
                                                            for i in range(6)) + "\n"
    t = read_csv(write(tmp_path, text))
    assert t.schema["delimiter"] == sep and t.classes == ["x", "y"]
    if sep == ";":  # "1,5" with a decimal comma is the number 1.5 (Excel in most of Europe)
        assert t.features == ["a", "b"] and t.x[1, 0] == 1.5


def test_explicit_delimiter(tmp_path: Path) -> None:
    t = read_csv(write(tmp_path, "a;label\n1;x\n2;y\n"), options=CsvOptions(delimiter=";"))
    np.testing.assert_array_equal(t.x[:, 0], [1, 2])


def test_ignored_columns_by_name_and_index(tmp_path: Path) -> None:
    path = write(tmp_path, "id,note,a,label\n1,hello there,5,x\n2,something else,6,y\n3,more text,7,x\n")
    t = read_csv(path, options=CsvOptions(ignore_columns=("id", 1)))
    assert t.features == ["a"]
    error(path, r"no column 'ID'.*data\.ignore_columns", ignore_columns=("ID",))


def test_free_text_column_is_refused_pointing_at_ignore_columns(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},words number {i},{'ab'[i % 2]}" for i in range(300))
    error(write(tmp_path, "a,text,label\n" + rows + "\n"), r"column 'text' has 300 distinct words.*ignore_columns")


# --- missing values --------------------------------------------------------------------


MISSING = "a,b,label\n1,2,x\n3,NA,y\n,4,x\n5,6,y\n7,?,\n9,10,x\n"


def test_missing_value_is_an_error_naming_line_column_and_option(tmp_path: Path) -> None:
    msg = error(write(tmp_path, MISSING), r"line 3, column 'b': missing value 'NA'")
    assert "data.missing: drop" in msg and "mean" in msg


def test_missing_drop(tmp_path: Path) -> None:
    t = read_csv(write(tmp_path, MISSING), options=CsvOptions(missing="drop"))
    np.testing.assert_array_equal(t.x, [[1, 2], [5, 6], [9, 10]])
    assert "dropped 3 of 6 rows" in t.notes[0]


def test_missing_mean_fills_with_training_statistics(tmp_path: Path) -> None:
    t = read_csv(write(tmp_path, MISSING), options=CsvOptions(missing="mean"))
    assert len(t.y) == 5  # the row without a label is dropped
    assert np.isnan(t.x).sum() == 2 and "filled with the training mean" in t.notes[0]
    s = Standardizer.fit(t.x)
    np.testing.assert_allclose(s.mean, [np.mean([1, 3, 5, 9]), np.mean([2, 4, 6, 10])])
    out = s.apply(t.x.copy())
    assert np.isfinite(out).all() and out[1, 1] == 0 and out[2, 0] == 0  # the mean, standardized


# --- categorical features --------------------------------------------------------------


def test_words_are_one_hot_with_categories_in_the_schema(tmp_path: Path) -> None:
    path = write(tmp_path, "size,color,label\n1,red,x\n2,blue,y\n3,red,x\n4,green,y\n")
    t = read_csv(path)
    assert t.features == ["size", "color=blue", "color=green", "color=red"]
    np.testing.assert_array_equal(t.x[:, 1:], [[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert t.schema["columns"][1]["categories"] == ["blue", "green", "red"]
    # A test file read with the training schema: an unseen category is a clear error ...
    test = write(tmp_path, "size,color,label\n5,purple,x\n", "test.csv")
    with pytest.raises(DataError, match=r"line 2, column 'color': 'purple' is not a category seen in training"):
        read_csv(test, classes=t.classes, schema=t.schema)
    # ... and counts as missing (filled with the training frequencies) for a data.missing: mean model.
    schema = dict(t.schema, missing="mean")
    got = read_rows(test, schema)
    assert np.isnan(got.x[0, 1:]).all() and got.x[0, 0] == 5 and "filled" in got.notes[0]


# --- rows to predict -------------------------------------------------------------------


def test_read_rows_by_name_with_ids_and_headerless_by_position(tmp_path: Path) -> None:
    t = read_csv(write(tmp_path, "PassengerId,a,b,label\n1,1,2,x\n2,3,4,y\n"), options=CsvOptions(ignore_columns=(0,)))
    got = read_rows(write(tmp_path, "b,PassengerId,a\n20,7,10\n40,8,30\n", "rows.csv"), t.schema)
    np.testing.assert_array_equal(got.x, [[10, 20], [30, 40]])
    assert got.ids == ["7", "8"] and got.id_column == "PassengerId"
    got = read_rows(write(tmp_path, "1,2\n3,4\n", "bare.csv"), t.schema)
    np.testing.assert_array_equal(got.x, [[1, 2], [3, 4]])
    assert got.ids == ["1", "2"] and got.id_column is None
    with pytest.raises(DataError, match="has 3 columns and no header row"):
        read_rows(write(tmp_path, "1,2,3\n", "odd.csv"), t.schema)


def test_read_pixel_rows_kaggle_test_file(tmp_path: Path) -> None:
    header = ",".join(f"pixel{i}" for i in range(784))
    rows = "\n".join(",".join(["7"] * 784) for _ in range(3))
    got = read_pixel_rows(write(tmp_path, header + "\n" + rows + "\n"))
    assert got.x.shape == (3, 784) and got.x.dtype == np.uint8 and got.ids == ["1", "2", "3"]
    with pytest.raises(DataError, match="needs 784 pixel columns"):
        read_pixel_rows(write(tmp_path, "a,b\n1,2\n", "small.csv"))


# --- end to end: pixel CSVs train as images, predict photos and CSVs ----------------------


def shapes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    return np.stack([draw_shape(int(k), rng) for k in y]).reshape(n, -1), y


def write_pixels(path: Path, x: np.ndarray, y: np.ndarray | None, first: int = 0) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow((["label"] if y is not None else []) + [f"pixel{i + first}" for i in range(784)])
        for i in range(len(x)):
            w.writerow(([int(y[i])] if y is not None else []) + x[i].tolist())
    return path


@pytest.mark.slow
def test_pixel_csv_trains_as_images_and_predicts_photos_and_csv(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    x, y = shapes(500, 0)
    write_pixels(tmp_path / "train.csv", x, y, first=1)  # Fashion-MNIST's pixel1..pixel784
    runner = CliRunner()
    r = runner.invoke(cli, ["train", "--no-progress", "-o", "run", "--set", "data.dataset=csv",
                            "--set", f"data.path={tmp_path / 'train.csv'}", "--set", "data.val_size=50",
                            "--set", "train.epochs=8", "--set", "model.hidden=[64]"])
    assert r.exit_code == 0, r.output
    assert "read as 28x28 grayscale images" in r.output
    ck = checkpoint.load(tmp_path / "run/best.npz")
    assert ck.input.kind == "image" and ck.input.csv["image"] is True
    assert "input.mean" not in ck.arrays  # scaled, not standardized
    assert ck.meta.test["accuracy"] > 0.9
    # A photo: dark shape on white, large.
    xt, yt = shapes(8, 1)
    Image.fromarray(255 - xt[1].reshape(28, 28)).resize((200, 200)).save(tmp_path / "photo.png")
    r = runner.invoke(cli, ["predict", "photo.png", "--model", "run/best.npz", "--json"])
    assert r.exit_code == 0, r.output
    # Kaggle's test.csv: pixels only, no id; the output numbers them ImageId 1..N.
    write_pixels(tmp_path / "test.csv", xt, None)
    r = runner.invoke(cli, ["predict", "test.csv", "--model", "run/best.npz", "--output", "preds.csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(open(tmp_path / "preds.csv")))
    assert rows[0] == ["ImageId", "Label", "probability"] and len(rows) == 9
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 9))
    assert np.mean([int(r[1]) == k for r, k in zip(rows[1:], yt)]) >= 0.75


def test_tabular_csv_with_words_missing_values_and_ids_end_to_end(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    n = 300
    color = rng.choice(["red", "green", "blue"], size=n)
    a = rng.normal(size=n)
    label = np.where((color == "red") | (a > 0), "yes", "no")
    lines = ["id;a;color;outcome"]
    for i in range(n):
        av = "NA" if i % 17 == 0 else f"{a[i]:.3f}"
        lines.append(f"{1000 + i};{av};{color[i]};{label[i]}")
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    args = ["train", "--no-progress", "-o", "run", "--set", "data.dataset=csv",
            "--set", f"data.path={tmp_path / 'train.csv'}", "--set", "data.label_column=outcome",
            "--set", "data.val_size=30", "--set", "train.epochs=30", "--set", "model.hidden=[32]",
            "--set", "train.batch_size=16"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "line 2, column 'a': missing value 'NA'" in r.output
    assert not (tmp_path / "run").exists()  # nothing written
    r = CliRunner().invoke(cli, [*args, "--set", "data.missing=mean", "--set", "data.ignore_columns=[id]"])
    assert r.exit_code == 0, r.output
    ck = checkpoint.load(tmp_path / "run/best.npz")
    assert ck.meta.test["accuracy"] > 0.85
    (tmp_path / "rows.csv").write_text("id;color;a\n7;red;1.5\n8;purple;-1\n9;green;\n")
    r = CliRunner().invoke(cli, ["predict", "rows.csv", "--model", "run/best.npz", "--output", "out.csv"])
    assert r.exit_code == 0, r.output
    out = list(csv.reader(open(tmp_path / "out.csv")))
    assert out[0] == ["id", "label", "probability"] and [o[0] for o in out[1:]] == ["7", "8", "9"]
    assert out[1][1] == "yes"  # red and a > 0


@pytest.mark.slow
def test_predict_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    x, y = shapes(200, 0)
    write_pixels(tmp_path / "train.csv", x, y)
    subprocess.run([sys.executable, "-m", "mlpnet", "train", "--no-progress", "-o", str(tmp_path / "run"),
                    "--set", "data.dataset=csv", "--set", f"data.path={tmp_path / 'train.csv'}",
                    "--set", "data.val_size=20", "--set", "train.epochs=1", "--set", "model.hidden=[8]"],
                   check=True, capture_output=True)
    many = np.repeat(x, 20, axis=0)  # 4,000 rows: more output than a pipe buffer holds
    write_pixels(tmp_path / "many.csv", many, None)
    proc = subprocess.Popen([sys.executable, "-m", "mlpnet", "predict", str(tmp_path / "many.csv"),
                             "--model", str(tmp_path / "run/best.npz")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert b"Broken pipe" not in err and b"Traceback" not in err and err.strip() == b""


# --- memory ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pixels", "floats"])
def test_reading_peaks_within_three_float32_copies_of_the_data(tmp_path: Path, kind: str) -> None:
    import tracemalloc

    rng = np.random.default_rng(0)
    if kind == "pixels":
        n, d = 3000, 784
        table, fmt, head = np.c_[rng.integers(0, 10, n), rng.integers(0, 256, (n, d))], "%d", "label"
    else:
        n, d = 40000, 20
        table, fmt, head = np.c_[rng.normal(size=(n, d)), rng.integers(0, 3, n)], "%.5f", None
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        cols = [f"f{i}" for i in range(d)]
        f.write(",".join(["label", *cols] if head else [*cols, "label"]) + "\n")
        np.savetxt(f, table, fmt=fmt, delimiter=",")
    tracemalloc.start()  # NumPy reports its array allocations to tracemalloc
    try:
        t = read_csv(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert t.x.shape == (n, d)
    assert peak <= 3 * n * d * 4, f"peak {peak / 1e6:.1f} MB for a {n * d * 4 / 1e6:.1f} MB float32 array"


def test_a_decimal_label_column_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n" + "\n".join(f"{i},{i % 3},{i * 0.37:.2f}" for i in range(30)) + "\n")
    cfg = config.load(None, ["data.dataset=csv", f"data.path={path}"])
    with pytest.raises(DataError, match="label column 'label' holds decimal numbers .*task: regression"):
        data.load(cfg.data, 0, task="classification")
    assert data.load(cfg.data, 0).task == "regression"  # task: auto guesses it
