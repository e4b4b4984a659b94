"""The command line end to end (CliRunner, small generated data, isolated folders)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from mlpnet.cli import cli

from conftest import make_blobs_npz, skip_reason, small_cli

FAST = ("train.epochs=2", "train.batch_size=64", "optimizer.lr=0.01")


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def _train(runner, tmp_path, *extra):
    npz = make_blobs_npz(tmp_path / "blobs.npz")
    return runner.invoke(cli, ["train", *small_cli(npz, *FAST), *extra])


def _one_line_error(result, code=None):
    assert result.exit_code != 0, result.output
    if code is not None:
        assert result.exit_code == code
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: "), result.output
    return lines[-1]


COMMANDS = ["train", "evaluate", "predict", "info", "serve", "export", "sweep"]
"""Every command, each with a --help test below and a real run in this file (serve: test_serve_runs_for_real)."""


def test_help_lists_every_command(runner):
    assert sorted(cli.commands) == sorted(COMMANDS), "a new command needs its --help and real-run tests here"
    r = runner.invoke(cli, ["--help"])
    assert r.exit_code == 0
    listed = {line.split()[0] for line in r.output.split("Commands:")[1].splitlines() if line.strip()}
    assert listed == set(COMMANDS), r.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(runner, command):
    r = runner.invoke(cli, [command, "--help"], prog_name="mlpnet")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Usage: mlpnet {command} ")
    summary = cli.commands[command].help.strip().splitlines()[0]
    assert summary and summary in " ".join(r.output.split()), r.output
    assert "--debug" in r.output  # every command turns errors into one line, tracebacks on request


def test_train_evaluate_predict_info(runner, tmp_path):
    r = _train(runner, tmp_path)
    assert r.exit_code == 0, r.output
    run = Path("runs/blobs")
    assert "test accuracy" in r.output and f"model: {run / 'best.npz'}" in r.output
    assert Path("runs/latest").resolve() == run.resolve()
    for f in ("config.yaml", "metrics.csv", "last.npz", "best.npz"):
        assert (run / f).exists()

    r = runner.invoke(cli, ["evaluate", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {"n", "loss", "accuracy", "confusion_matrix", "per_class", "classes"} <= set(d)
    assert d["n"] == 200 and len(d["confusion_matrix"]) == 4 and d["accuracy"] > 0.9
    assert {"label", "precision", "recall", "f1", "support"} <= set(d["per_class"][0])
    assert sum(map(sum, d["confusion_matrix"])) == 200

    r = runner.invoke(cli, ["evaluate", "--split", "val"])
    assert r.exit_code == 0 and "n=100" in r.output and "precision" in r.output

    # a generated class-0 image, as a user's PNG
    with np.load(tmp_path / "blobs.npz") as f:
        Image.fromarray(f["x_test"][0]).save("a.png")
    r = runner.invoke(cli, ["predict", "a.png", "--json", "--top-k", "2"])
    assert r.exit_code == 0, r.output
    [p] = json.loads(r.stdout)
    assert p["file"] == "a.png" and len(p["top_k"]) == 2 and set(p) >= {"index", "label", "probability"}

    r = runner.invoke(cli, ["info", str(run / "best.npz"), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["architecture"]["sizes"] == [784, 16, 4]
    r = runner.invoke(cli, ["info"])
    assert r.exit_code == 0 and "784-16-4" in r.output


def test_print_config_prints_resolved_yaml_and_exits(runner):
    r = runner.invoke(cli, ["train", "--print-config", "--set", "train.epochs=7"])
    assert r.exit_code == 0 and "epochs: 7" in r.output and not Path("runs").exists()


@pytest.mark.parametrize("args,match", [
    (["train", "--set", "train.epoch=3"], "did you mean 'epochs'"),
    (["train", "-c", "missing.yaml"], "missing.yaml: no such config file"),
    (["train", "--set", "optimizer.lr=-1"], "optimizer.lr: -1.0 is out of range"),
    (["evaluate", "--model", "nope.npz"], "nope.npz: no such checkpoint"),
    (["info", "nope.npz"], "nope.npz: no such checkpoint"),
    (["predict", "x.png", "--model", "nope.npz"], "nope.npz: no such checkpoint"),
])
def test_errors_are_one_line_without_traceback(runner, args, match):
    line = _one_line_error(runner.invoke(cli, args))
    assert match in line


def test_yaml_syntax_error_names_file(runner, tmp_path):
    Path("bad.yaml").write_text("model: {hidden: [1, 2}\n")
    assert "bad.yaml: YAML syntax error at line 1" in _one_line_error(runner.invoke(cli, ["train", "-c", "bad.yaml"]), 2)


def test_debug_shows_traceback(runner):
    r = runner.invoke(cli, ["train", "--set", "train.epoch=3", "--debug"])
    assert r.exit_code != 0
    assert "Traceback" in r.output or r.exc_info is not None


def test_missing_dataset_file(runner):
    line = _one_line_error(runner.invoke(cli, ["train", "--set", "data.dataset=npz", "--set", "data.path=none.npz"]))
    assert "none.npz: no such file" in line


def test_npz_with_mismatched_lengths(runner, tmp_path):
    np.savez("bad.npz", x_train=np.zeros((5, 784), np.uint8), y_train=np.zeros(4, np.int64),
             x_test=np.zeros((2, 784), np.uint8), y_test=np.zeros(2, np.int64))
    line = _one_line_error(runner.invoke(cli, ["train", "--set", "data.dataset=npz", "--set", "data.path=bad.npz"]))
    assert "bad.npz: x_train has 5 samples but y_train has 4" in line


def test_truncated_checkpoint(runner, tmp_path):
    assert _train(runner, tmp_path).exit_code == 0
    data = Path("runs/blobs/best.npz").read_bytes()
    Path("cut.npz").write_bytes(data[: len(data) // 3])
    assert "cut.npz: truncated or corrupt checkpoint" in _one_line_error(runner.invoke(cli, ["evaluate", "--model", "cut.npz"]))


def test_existing_run_is_refused_then_resumed(runner, tmp_path):
    assert _train(runner, tmp_path).exit_code == 0
    before = Path("runs/blobs/best.npz").read_bytes()
    line = _one_line_error(_train(runner, tmp_path, "-o", "runs/blobs"))
    assert "already holds a model" in line and Path("runs/blobs/best.npz").read_bytes() == before
    r = runner.invoke(cli, ["train", "--resume", "runs/blobs/last.npz", "--set", "train.epochs=3"])
    assert r.exit_code == 0, r.output
    assert Path("runs/blobs/metrics.csv").read_text().count("\n") == 4  # header + 3 epochs
    line = _one_line_error(runner.invoke(cli, ["train", "--resume", "runs/blobs/last.npz", "--set", "model.hidden=[3]",
                                               "--set", "train.epochs=5"]))
    assert "model.hidden cannot change when resuming" in line
    line = _one_line_error(runner.invoke(cli, ["train", "--resume", "runs/blobs/last.npz", "-c", "x.yaml"]))
    assert "--resume uses the config stored in the checkpoint" in line


def test_ctrl_c_saves_and_says_how_to_resume(runner, tmp_path, monkeypatch):
    from mlpnet import data as data_mod

    calls = {"n": 0}
    real = data_mod.Batcher.gather

    def gather(self, idx):
        calls["n"] += 1
        if calls["n"] == 12:  # during epoch 2 (8 batches per epoch)
            raise KeyboardInterrupt
        return real(self, idx)

    monkeypatch.setattr(data_mod.Batcher, "gather", gather)
    r = _train(runner, tmp_path)
    assert r.exit_code == 130 and "Traceback" not in r.output
    assert "interrupted during epoch 2" in r.output and "mlpnet train --resume runs/blobs/last.npz" in r.output
    assert Path("runs/blobs/last.npz").exists()


def test_predict_errors_keep_going(runner, tmp_path):
    assert _train(runner, tmp_path).exit_code == 0
    with np.load(tmp_path / "blobs.npz") as f:
        Image.fromarray(f["x_test"][0]).save("ok.png")
    Image.new("L", (40, 40), 255).save("blank.png")
    Path("text.png").write_text("not an image")
    r = runner.invoke(cli, ["predict", "ok.png", "blank.png", "text.png", "missing.png"])
    assert r.exit_code == 1
    out = r.output
    assert "ok.png:" in out
    assert "error: blank.png: no ink found" in out
    assert "error: text.png: not a recognised image file" in out
    assert "error: missing.png: no such file" in out
    assert "error: 3 input(s) could not be predicted, 1 answer(s) given" in out
    assert "Traceback" not in out


def test_predict_json_has_nothing_else_on_stdout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()
    assert _train(runner, tmp_path).exit_code == 0
    with np.load(tmp_path / "blobs.npz") as f:
        Image.fromarray(f["x_test"][0]).save("ok.png")
    Path("imgs").mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save("imgs/blank.png")
    r = runner.invoke(cli, ["predict", "ok.png", "imgs", "--json", "--save-preprocessed", "seen"])
    assert r.exit_code == 1
    entries = json.loads(r.stdout)
    assert entries[0]["file"] == "ok.png" and entries[1]["input"].endswith("blank.png")
    assert "blank.png: no ink found" in r.stderr
    assert Image.open("seen/ok.png").size == (28, 28)


def test_float_npz_must_be_scaled(runner):
    x = np.full((10, 784), 200.0, np.float32)
    np.savez("f.npz", x_train=x, y_train=np.zeros(10, np.int64), x_test=x[:2], y_test=np.zeros(2, np.int64))
    line = _one_line_error(runner.invoke(cli, ["train", "--set", "data.dataset=npz", "--set", "data.path=f.npz"]))
    assert "f.npz: x_train holds floats outside [0, 1] (from 200 to 200)" in line


def test_text_file_as_npz(runner):
    Path("t.npz").write_text("hello")
    line = _one_line_error(runner.invoke(cli, ["train", "--set", "data.dataset=npz", "--set", "data.path=t.npz"]))
    assert "t.npz: not an .npz file" in line and "allow_pickle" not in line


def test_truncated_idx_dataset(runner, tmp_path):
    import gzip

    d = Path("idx")
    d.mkdir()
    header = bytes([0, 0, 8, 3]) + (100).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        with gzip.open(d / name, "wb") as f:
            f.write(header + bytes(500))  # 100 images announced, less than one present
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        with gzip.open(d / name, "wb") as f:
            f.write(bytes([0, 0, 8, 1]) + (100).to_bytes(4, "big") + bytes(100))
    line = _one_line_error(runner.invoke(cli, ["train", "--set", "data.dataset=idx", "--set", "data.path=idx"]))
    assert "train-images-idx3-ubyte.gz" in line and "truncated" in line


def test_point12_predict_and_evaluate_say_which_model_they_fall_back_to(tmp_path, monkeypatch):
    """Issue 18 point 12: without --model, one line on stderr names the checkpoint used."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()
    assert _train(runner, tmp_path).exit_code == 0
    with np.load(tmp_path / "blobs.npz") as f:
        Image.fromarray(f["x_test"][0]).save("a.png")
    used = Path("runs/blobs/best.npz")  # the run runs/latest points at, by its own name
    for args in (["predict", "a.png", "--json"], ["evaluate", "--json"]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 0, r.output
        lines = [line for line in r.stderr.splitlines() if line.startswith("using ")]
        assert lines == [f"using {used} (the latest run; name another with --model)"], r.stderr
        json.loads(r.stdout)  # stdout stays one JSON document
        named = runner.invoke(cli, [*args, "--model", str(used)])
        assert named.exit_code == 0 and "using " not in named.stderr


def test_point15_rerun_with_the_default_name_gets_a_fresh_directory(runner, tmp_path):
    """Issue 18 point 15: the README's set-up line run twice trains twice; no model is ever replaced."""
    assert _train(runner, tmp_path).exit_code == 0
    first = Path("runs/blobs/best.npz").read_bytes()
    r = _train(runner, tmp_path, "--set", "seed=1")
    assert r.exit_code == 0, r.output
    assert "note: runs/blobs already holds a model, kept; this run goes to runs/blobs-2" in r.output
    assert "model: runs/blobs-2/best.npz" in r.output
    assert Path("runs/blobs/best.npz").read_bytes() == first
    assert Path("runs/latest").resolve() == Path("runs/blobs-2").resolve()
    assert _train(runner, tmp_path).exit_code == 0
    assert Path("runs/blobs-3/best.npz").exists() and Path("runs/latest").resolve() == Path("runs/blobs-3").resolve()
    # An explicit --out still refuses a folder that holds a model, and leaves it untouched.
    line = _one_line_error(_train(runner, tmp_path, "-o", "runs/blobs"))
    assert "runs/blobs: already holds a model" in line and Path("runs/blobs/best.npz").read_bytes() == first
    assert not Path("runs/blobs-4").exists()


def test_export_runs_for_real(tmp_path, monkeypatch):
    pytest.importorskip("onnx", reason="the onnx package is not installed (pip install 'mlpnet[onnx]')")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(mix_stderr=False) if "mix_stderr" in CliRunner.__init__.__code__.co_varnames else CliRunner()
    assert _train(runner, tmp_path).exit_code == 0
    r = runner.invoke(cli, ["export"])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "wrote runs/blobs/best.onnx"
    import onnx

    onnx.checker.check_model(onnx.load("runs/blobs/best.onnx"))


@pytest.mark.slow
def test_sweep_runs_for_real(runner, tmp_path):
    pytest.importorskip("dask.distributed", reason=skip_reason("dask"))
    npz = make_blobs_npz(tmp_path / "small.npz", n_train=300, n_test=60)
    Path("sw.yaml").write_text("method: grid\nmetric: val_accuracy\nparameters:\n  model.hidden: {values: [[8]]}\n")
    r = runner.invoke(cli, ["sweep", "sw.yaml", "--workers", "1",
                            *small_cli(npz, "data.val_size=60", "train.epochs=1")])
    assert r.exit_code == 0, r.output
    assert "1 trial(s) run" in r.output and Path("sweeps/sw/trial-001/best.npz").exists()
    assert f"mlpnet train -c {(tmp_path / 'sweeps/sw/best.yaml').resolve()}" in r.output


@pytest.mark.slow
def test_serve_runs_for_real(tmp_path):
    pytest.importorskip("starlette", reason="the serve extra is not installed (pip install 'mlpnet[serve]')")
    import signal
    import urllib.request

    import trained

    proc, url = trained.start_server(trained.random_image_model(tmp_path / "m.npz", "relu", "softmax"))
    try:
        health = json.loads(urllib.request.urlopen(url + "/health", timeout=10).read())
        assert health["status"] == "ok", health
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    assert proc.returncode == 0
