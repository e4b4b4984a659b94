"""Issue 20: ``data.chunk_rows`` trains on a CSV file a chunk of rows at a time, never reading it whole."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mlpnet import checkpoint, data
from mlpnet.cli import cli
from mlpnet.config import DataConfig
from mlpnet.data import stream
from mlpnet.data.csv import CsvOptions, read_csv
from mlpnet.data.csv.chunks import Chunks
from mlpnet.data.spec import Moments, Standardizer
from mlpnet.errors import DataError

FAST = ["model.hidden=[16]", "train.min_steps=0", "train.min_batches=0", "schedule.name=constant",
        "train.batch_size=32", "optimizer.lr=0.01"]


def _table_csv(path: Path, n: int = 1200, seed: int = 0, *, late_class: bool = False) -> Path:
    """Numbers, a word column and word labels; with ``late_class`` a class and a colour appear only at the end."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    colour = rng.choice(["red", "green"], size=n)
    label = np.where(x[:, 0] + (colour == "red") > 0.5, "yes", "no").astype(object)
    if late_class:
        colour[-40:] = "blue"
        label[-40:] = "maybe"
    lines = ["a,b,c,d,colour,label"] + [",".join(f"{v:.5f}" for v in x[i]) + f",{colour[i]},{label[i]}"
                                        for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(runner, out: Path, path: Path, *sets: str):
    args = ["train", "-o", str(out), "--no-progress", "--set", f"data.path={path}"]
    for s in (*FAST, *sets):
        args += ["--set", s]
    return runner.invoke(cli, args)


def _cfg(path: Path, **kw) -> DataConfig:
    return DataConfig(dataset="csv", path=str(path), **kw)


def test_chunks_keep_quoted_newlines_whole_and_name_the_files_lines(tmp_path):
    rows = ["id,note,x,label"]
    for i in range(1, 31):
        note = '"two\nlines"' if i % 7 == 0 else "plain"
        rows.append(f"{i},{note},{i * 0.5},{i % 2}")
        if i % 10 == 0:
            rows.append("")  # a blank line: skipped, but still counted in line numbers
    path = tmp_path / "notes.csv"
    path.write_text("\n".join(rows) + "\n")
    chunks = Chunks.open(path, CsvOptions(ignore_columns=("id", "note")), 8)
    tables = [read_csv(path, options=CsvOptions(ignore_columns=("id", "note")), layout=lay) for lay in chunks.scan()]
    assert [len(t.y) for t in tables] == [8, 8, 8, 6]
    whole = read_csv(path, options=CsvOptions(ignore_columns=("id", "note")))
    np.testing.assert_array_equal(np.concatenate([t.x for t in tables]), whole.x)
    for i in range(len(chunks)):  # read again by seeking: the same rows
        again = read_csv(path, options=CsvOptions(ignore_columns=("id", "note")), layout=chunks.read(i))
        np.testing.assert_array_equal(again.x, tables[i].x)

    bad = path.read_text().splitlines()
    line = next(k for k, text in enumerate(bad, 1) if text.startswith("25,"))
    bad[line - 1] = "25,plain,oops,1"
    path.write_text("\n".join(bad) + "\n")
    with pytest.raises(DataError, match=rf"notes.csv: line {line}, column 'x': 'oops' is not a number"):
        stream.load(_cfg(path, chunk_rows=8, ignore_columns=["id", "note"]), 0)


@pytest.mark.parametrize("cache", [True, False])
def test_training_never_holds_more_than_chunk_rows_rows_of_the_file(tmp_path, monkeypatch, cache):
    path = _table_csv(tmp_path / "t.csv", n=1000)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    held, loaded = [], []
    real_read, real_load = stream.read_csv, np.load

    def reading(*a, **kw):
        assert kw.get("layout") is not None, "a read of the whole file"
        t = real_read(*a, **kw)
        held.append(len(t.y))
        return t

    def loading(file, *a, **kw):
        array = real_load(file, *a, **kw)
        if str(file).startswith(str(temp)):  # (np.load is NumPy's own: checkpoints are loaded with it too)
            loaded.append(len(array))
        return array

    monkeypatch.setattr(stream, "read_csv", reading)
    monkeypatch.setattr(stream.np, "load", loading)
    monkeypatch.setattr(data.csv, "load", lambda *a, **kw: pytest.fail("the whole-file reader was used"))
    r = _train(CliRunner(), tmp_path / "run", path, "data.chunk_rows=64", "train.epochs=2",
               f"data.chunk_cache={str(cache).lower()}")
    assert r.exit_code == 0, r.output
    assert held and max(held) <= 64 and max(loaded, default=0) <= 64
    # 16 chunks: schema pass, statistics pass, then 2 epochs and the test split from the cache or the file
    assert len(held) == (2 if cache else 5) * 16
    assert len(loaded) == (3 * 16 * 2 if cache else 0)  # x and y of each chunk's rows, 3 passes
    assert list(temp.iterdir()) == []  # the cache went with the run
    r = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run" / "best.npz"), "--json"])
    assert r.exit_code == 0, r.output
    assert max(held) <= 64


def test_streamed_training_reaches_in_memory_accuracy(tmp_path):
    path = _table_csv(tmp_path / "t.csv", n=3000)
    runner = CliRunner()
    accs = {}
    for name, sets in {"whole": [], "chunks": ["data.chunk_rows=250"]}.items():
        r = _train(runner, tmp_path / name, path, "train.epochs=8", *sets)
        assert r.exit_code == 0, r.output
        accs[name] = checkpoint.load(tmp_path / name / "best.npz").meta.test["accuracy"]
    assert accs["chunks"] > 0.9
    assert abs(accs["chunks"] - accs["whole"]) < 0.03, accs


def test_classes_and_categories_seen_only_in_a_late_chunk_are_known(tmp_path):
    path = _table_csv(tmp_path / "t.csv", n=600, late_class=True)
    ds = data.load(_cfg(path, chunk_rows=100), 0)
    whole = data.load(_cfg(path), 0)
    assert ds.classes == whole.classes == ["maybe", "no", "yes"]
    assert ds.input.features == whole.input.features
    assert ds.input.csv["columns"] == whole.input.csv["columns"]
    assert ds.n_features == whole.n_features == 4 + 3


def test_statistics_over_chunks_are_those_of_the_whole_training_split(tmp_path):
    path = _table_csv(tmp_path / "t.csv", n=700)
    ds = data.load(_cfg(path, chunk_rows=90), 3)
    x = np.concatenate([p.x for p in ds.train.parts()])  # standardized with the streamed statistics
    assert len(x) == len(ds.train)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-4)


@pytest.mark.parametrize("sizes", [[5, 50, 1, 200], [300]])
def test_moments_merged_over_chunks_equal_one_fit(sizes):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(sum(sizes), 5)) * [1, 1e3, 1e-3, 0, 1] + [0, 5e4, 1, 7, -3]).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values are left out, as in Standardizer.fit
    x[:, 4] = np.nan  # a column with no value: mean 0, std 1
    m = Moments()
    for part in np.split(x, np.cumsum(sizes)[:-1]):
        m.update(part)
    got, want = m.standardizer(), Standardizer.fit(x)
    np.testing.assert_allclose(got.mean, want.mean, rtol=1e-6)
    np.testing.assert_allclose(got.std, want.std, rtol=1e-5)


@pytest.mark.parametrize("chunk_rows, batch", [(10, 32), (64, 32), (50, 7), (1000, 16)])
def test_an_epoch_gives_every_training_row_once_in_full_batches(tmp_path, chunk_rows, batch):
    path = _table_csv(tmp_path / "t.csv", n=400)
    ds = data.load(_cfg(path, chunk_rows=chunk_rows), 0)
    every = np.sort(np.concatenate([p.x[:, 0] for p in ds.train.parts()]))
    assert len(every) == len(ds.train)
    rng = np.random.default_rng(0)
    batches = [rows.x[idx, 0] for rows, idx in data.epoch_batches(ds.train, batch, rng)]
    assert all(len(b) == batch for b in batches[:-1]) and 0 < len(batches[-1]) <= batch
    assert len(batches) == -(-len(ds.train) // batch)  # as many steps as in memory
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), every)
    again = [rows.x[idx, 0] for rows, idx in data.epoch_batches(ds.train, batch, np.random.default_rng(0))]
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))  # the generator alone decides the order


def test_held_out_rows_do_not_depend_on_the_chunk_size(tmp_path):
    path = _table_csv(tmp_path / "t.csv", n=500)
    a, b = data.load(_cfg(path, chunk_rows=7), 5), data.load(_cfg(path, chunk_rows=64), 5)
    assert len(a.test) == len(b.test) and len(a.train) == len(b.train)
    np.testing.assert_array_equal(a.val.x, b.val.x)
    np.testing.assert_array_equal(np.concatenate([p.y for p in a.test.parts()]),
                                  np.concatenate([p.y for p in b.test.parts()]))
    assert len(a.val) == round(0.1 * (500 - len(a.test)))
    assert 0.12 < len(a.test) / 500 < 0.28  # about data.test_size (0.2): each row by its hash


def test_resume_after_ctrl_c_is_bit_identical(tmp_path, monkeypatch):
    path = _table_csv(tmp_path / "t.csv", n=600)
    sets = ["data.chunk_rows=70", "train.epochs=3", "model.dropout=0.2"]
    runner = CliRunner()
    r = _train(runner, tmp_path / "straight", path, *sets)
    assert r.exit_code == 0, r.output
    real, calls = data.Batcher.gather, [0]

    def ctrl_c(self, idx):
        calls[0] += 1
        if calls[0] == 20:  # in epoch 2 (about 11 batches an epoch)
            raise KeyboardInterrupt
        return real(self, idx)

    monkeypatch.setattr(data.Batcher, "gather", ctrl_c)
    r = _train(runner, tmp_path / "cut", path, *sets)
    assert r.exit_code == 130, r.output
    monkeypatch.setattr(data.Batcher, "gather", real)
    command = shlex.split(r.output.strip().splitlines()[-1].split("resume with: ", 1)[1])
    r = runner.invoke(cli, command[1:])
    assert r.exit_code == 0, r.output
    for name in ("last.npz", "best.npz"):
        a, b = checkpoint.load(tmp_path / "straight" / name), checkpoint.load(tmp_path / "cut" / name)
        assert np.array_equal(a.model.params, b.model.params), name
        assert a.meta.rng == b.meta.rng


def test_a_column_that_changes_kind_between_chunks_is_one_line(tmp_path):
    lines = ["x,size,label"] + [f"{i},{i % 5},{i % 2}" for i in range(50)] + [f"{i},big,{i % 2}" for i in range(50)]
    path = tmp_path / "k.csv"
    path.write_text("\n".join(lines) + "\n")
    r = _train(CliRunner(), tmp_path / "run", path, "data.chunk_rows=40")
    assert r.exit_code != 0
    assert r.output.strip() == (f"error: {path}: the chunk of rows from line 42: column 'size' holds words "
                                "(categories, such as 'big') here but numbers in the rows before; with data.chunk_rows "
                                "every chunk must agree: fix the column, or list it in data.ignore_columns")
    assert not (tmp_path / "run").exists()


def test_chunk_rows_on_data_that_is_not_csv_is_refused(tmp_path):
    from conftest import make_blobs_npz

    npz = make_blobs_npz(tmp_path / "b.npz")
    r = _train(CliRunner(), tmp_path / "run", npz, "data.chunk_rows=100")
    assert r.exit_code != 0
    assert r.output.strip().startswith("error: data.chunk_rows: reads CSV files a chunk at a time, and ")
    assert "npz data (the extension .npz); set data.chunk_rows: null" in r.output


def test_regression_with_weights_streams_and_evaluate_agrees(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, size=(900, 3))
    y = 3 * x[:, 0] - x[:, 1] ** 2 + 0.05 * rng.normal(size=900) + 10.5
    w = rng.integers(1, 4, size=900)
    path = tmp_path / "r.csv"
    path.write_text("a,b,c,w,target\n" + "".join(f"{a:.5f},{b:.5f},{c:.5f},{k},{t:.5f}\n"
                                                  for (a, b, c), k, t in zip(x, w, y)))
    r = _train(CliRunner(), tmp_path / "run", path, "data.chunk_rows=100", "data.label_column=target",
               "data.weight_column=w", "train.epochs=30", "model.hidden=[32]")
    assert r.exit_code == 0, r.output
    assert "note: task: regression, guessed from the label column 'target'" in r.output
    test = checkpoint.load(tmp_path / "run" / "best.npz").meta.test
    assert test["r2"] > 0.9
    r = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run" / "best.npz"), "--json"])
    assert r.exit_code == 0, r.output
    import json

    got = json.loads(r.stdout)
    assert got["n"] == test["n"] and abs(got["r2"] - test["r2"]) < 1e-6


def test_multilabel_and_balanced_class_weight_stream(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 3))
    a, b = (x[:, 0] > 0).astype(int), (x[:, 1] > 0.8).astype(int)
    a[(a == 0) & (b == 0)] = 1
    path = tmp_path / "m.csv"
    path.write_text("x0,x1,x2,A,B\n" + "".join(f"{u:.4f},{v:.4f},{w:.4f},{p},{q}\n"
                                              for (u, v, w), p, q in zip(x, a, b)))
    r = _train(CliRunner(), tmp_path / "ml", path, "data.chunk_rows=120", "data.label_column=[A, B]",
               "train.epochs=10")
    assert r.exit_code == 0, r.output
    assert checkpoint.load(tmp_path / "ml" / "best.npz").task == "multilabel"

    imbalanced = _table_csv(tmp_path / "t.csv", n=800)
    r = _train(CliRunner(), tmp_path / "cw", imbalanced, "data.chunk_rows=100", "train.class_weight=balanced",
               "train.epochs=2")
    assert r.exit_code == 0, r.output
    whole = data.load(_cfg(imbalanced, chunk_rows=100), 0)
    counts = whole.train.counts
    note = next(line for line in r.output.splitlines() if line.startswith("note: train.class_weight"))
    assert note == f"note: train.class_weight: no {counts.sum() / (2 * counts[0]):.3g}, yes {counts.sum() / (2 * counts[1]):.3g}"
    assert whole.train.w is None  # rows are weighed only when class_weight asks for it
    assert whole.train.weigh_classes("balanced") == note[len("note: "):]
    w = np.concatenate([p.w for p in whole.train.parts()])
    y = np.concatenate([p.y for p in whole.train.parts()])
    np.testing.assert_allclose(np.bincount(y, weights=w), [counts.sum() / 2] * 2, rtol=1e-5)  # classes weigh alike


def test_a_separate_test_file_is_streamed_too(tmp_path):
    train = _table_csv(tmp_path / "train.csv", n=600, seed=0)
    test = _table_csv(tmp_path / "test.csv", n=230, seed=1)
    ds = data.load(_cfg(train, chunk_rows=50, test_path=str(test)), 0)
    assert len(ds.test) == 230 and len(ds.train) + len(ds.val) == 600
    assert ds.test.n_chunks == 5


# -- found by a review as a new user: each read whole and chunked must agree ----------------------------


def _whole_and_chunked(path: Path, chunk_rows: int, **kw):
    return data.load(_cfg(path, **kw), 0), data.load(_cfg(path, chunk_rows=chunk_rows, **kw), 0)


def test_crlf_inside_a_quoted_field_reads_as_the_whole_file_does(tmp_path):
    rows = [f'{i},"line one\r\nline, two {i % 2}",{i * 0.1:.1f},{i % 2}' for i in range(60)]
    path = tmp_path / "crlf.csv"
    path.write_bytes(("\ufeffid,note,x,label\r\n" + "\r\n".join(rows) + "\r\n").encode())
    whole, chunked = _whole_and_chunked(path, 25, ignore_columns=["id"])
    assert chunked.input.csv["columns"] == whole.input.csv["columns"]
    assert whole.input.csv["columns"][0]["categories"] == ["line one\nline, two 0", "line one\nline, two 1"]


def test_a_stray_quote_inside_a_field_does_not_make_one_chunk_of_the_rest(tmp_path):
    inch = '5" screen'
    rows = [f"{i},{inch if i == 30 else 'plain'},{i % 2}" for i in range(1000)]
    path = tmp_path / "inch.csv"
    path.write_text("x,what,label\n" + "\n".join(rows) + "\n")
    chunks = Chunks.open(path, CsvOptions(), 100)
    assert [len(read_csv(path, layout=lay).y) for lay in chunks.scan()] == [100] * 10
    whole, chunked = _whole_and_chunked(path, 100)
    assert chunked.input.csv["columns"] == whole.input.csv["columns"]


def test_a_chunk_whose_rows_are_all_dropped_is_skipped(tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{'' if 200 <= i < 400 else f'{v:.3f}'},{w:.3f},{int(v > w)}" for i, (v, w) in
            enumerate(rng.normal(size=(1000, 2)))]
    path = tmp_path / "miss.csv"
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n")
    ds = data.load(_cfg(path, chunk_rows=97, missing="drop"), 0)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 800
    assert "miss.csv: dropped 200 of 1000 rows with missing values (data.missing: drop) (summed over the 3 chunks " \
           "that say so)" in ds.notes
    ds = data.load(_cfg(path, chunk_rows=97, missing="mean"), 0)
    assert any(n.startswith("miss.csv: 200 missing or unseen values in 200 rows are filled") for n in ds.notes)


def test_the_free_text_check_counts_the_whole_file_not_a_chunk(tmp_path):
    rng = np.random.default_rng(1)
    cities = [f"city{k}" for k in range(150)]
    path = tmp_path / "cats.csv"
    path.write_text("x,city,label\n" + "".join(f"{v:.3f},{rng.choice(cities)},{i % 2}\n"
                                                for i, v in enumerate(rng.normal(size=2000))))
    whole, chunked = _whole_and_chunked(path, 200)
    assert chunked.input.csv["columns"] == whole.input.csv["columns"]
    ids = tmp_path / "ids.csv"
    ids.write_text("x,ref,label\n" + "".join(f"{v:.3f},r{i},{i % 2}\n" for i, v in enumerate(rng.normal(size=400))))
    with pytest.raises(DataError, match="column 'ref' has 400 distinct words in 400 rows: free text or an id"):
        data.load(_cfg(ids, chunk_rows=100), 0)


def test_a_word_column_missing_in_the_first_chunk_takes_its_type_from_the_others(tmp_path):
    rng = np.random.default_rng(2)
    rows = [f"{v:.3f},{'' if i < 300 else rng.choice(['red', 'blue'])},{i % 2}" for i, v in
            enumerate(rng.normal(size=600))]
    path = tmp_path / "w.csv"
    path.write_text("x,color,label\n" + "\n".join(rows) + "\n")
    whole, chunked = _whole_and_chunked(path, 200, missing="mean")
    assert chunked.input.csv["columns"] == whole.input.csv["columns"]
    assert chunked.input.features == ["x", "color=blue", "color=red"]


def test_auto_task_is_regression_when_any_chunk_holds_decimals(tmp_path):
    rng = np.random.default_rng(3)
    price = np.where(np.arange(600) < 300, rng.integers(10, 90, 600), rng.uniform(10, 90, 600).round(2))
    path = tmp_path / "price.csv"
    path.write_text("x,price\n" + "".join(f"{v:.3f},{p}\n" for v, p in zip(rng.normal(size=600), price)))
    whole, chunked = _whole_and_chunked(path, 200, label_column="price")
    assert whole.task == chunked.task == "regression"
    assert chunked.targets == ["price"]


def test_a_class_whose_rows_were_all_held_out_is_named_as_such(tmp_path):
    path = _table_csv(tmp_path / "t.csv", n=300)
    lines = path.read_text().splitlines()
    ds = data.load(_cfg(path, chunk_rows=50), 0)
    test_row = int(next(i for i in range(300) if ds.train.reading.roles(i, 1)[0] == stream.TEST))
    cells = lines[1 + test_row].split(",")
    lines[1 + test_row] = ",".join(cells[:-1] + ["omega"])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="class 'omega' has no training rows: its rows all fell in the test or "
                                        "validation split"):
        data.load(_cfg(path, chunk_rows=50), 0)


@pytest.mark.slow
def test_sigterm_stops_training_safely_and_removes_the_cache(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    path = _table_csv(tmp_path / "t.csv", n=20000)
    temp = tmp_path / "temp"
    temp.mkdir()
    args = [sys.executable, "-m", "mlpnet", "train", "--no-progress", "-o", str(tmp_path / "run")]
    for s in (f"data.path={path}", "data.chunk_rows=2000", "train.epochs=100", "train.batch_size=8", *FAST[:3]):
        args += ["--set", s]
    env = dict(os.environ, TMPDIR=str(temp), PYTHONPATH=os.pathsep.join(sys.path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    for line in proc.stdout:
        if line.split()[:1] == ["epoch"]:  # (the first epoch is done)
            break
    assert any(temp.iterdir()), "the cache should exist while training"
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, out
    assert "resume with: mlpnet train --resume" in out.strip().splitlines()[-1], out
    assert list(temp.iterdir()) == []


def test_a_byte_order_mark_before_a_quoted_header_and_bare_cr_line_ends(tmp_path):
    rng = np.random.default_rng(4)
    body = [f"{u:.3f},{v:.3f},{int(u > v)}" for u, v in rng.normal(size=(300, 2))]
    bom = tmp_path / "bom.csv"
    bom.write_bytes(("\ufeff" + '"x\none","x2",label\n' + "\n".join(body) + "\n").encode())
    cr = tmp_path / "cr.csv"
    cr.write_bytes(("a,b,label\r" + "\r".join(body) + "\r").encode())
    for path in (bom, cr):
        whole, chunked = _whole_and_chunked(path, 70)
        assert len(chunked.train.chunks) == 5 and chunked.train.chunks.records == 300, path.name
        assert chunked.input.features == whole.input.features
        assert len(chunked.train) + len(chunked.val) + len(chunked.test) == 300
