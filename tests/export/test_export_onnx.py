"""``mlpnet export --format onnx``: the exported graph run in onnxruntime agrees with mlpnet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mlpnet import checkpoint
from mlpnet.cli import cli
from mlpnet.export.onnx import HIDDEN_OPS, OUTPUT_OPS, ExportError, export
from mlpnet.data.csv import read_feature_csv

import trained
from conftest import needs_mnist

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed (pip install 'mlpnet[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'mlpnet[test]')")

TOL = 1e-5


def _run(path: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probs, index = sess.run(None, {"input": x})
    return probs, index


@pytest.fixture(scope="module")
def digit_ckpt(tmp_path_factory):
    return trained.train_digits(tmp_path_factory.mktemp("digits"), "model.hidden=[64,32]", "train.epochs=2")


@pytest.fixture(scope="module")
def tabular_ckpt(tmp_path_factory):
    return trained.train_tabular(tmp_path_factory.mktemp("tabular"))


@pytest.mark.slow
@needs_mnist
@pytest.mark.parametrize("n", [1, 1000])
def test_real_digits_match_mlpnet(digit_ckpt, tmp_path, n):
    out = export(digit_ckpt, tmp_path / "digits.onnx")
    x, _ = trained.mnist_t10k()
    raw = x[8000:8000 + n].reshape(n, -1).astype(np.float32)  # raw pixels: the /255 is in the graph
    probs, index = _run(out, raw)
    ckpt = checkpoint.load(digit_ckpt)
    expected = ckpt.model.predict_proba(raw / 255.0)
    assert probs.shape == (n, 10) and probs.dtype == np.float32
    assert np.abs(probs - expected).max() < TOL
    np.testing.assert_array_equal(index, expected.argmax(axis=1))
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(meta["classes"]) == ckpt.classes


@pytest.mark.parametrize("n", [1, 1000])
def test_tabular_model_standardizes_inside_the_graph(tabular_ckpt, tmp_path, n):
    out = export(tabular_ckpt, tmp_path / "birds.onnx")
    csv = trained.write_tabular_csv(tmp_path / "more.csv", n=n, seed=n)
    raw = read_feature_csv(csv, trained.FEATURES)  # raw values, scales from 0.1 to 2000
    ckpt = checkpoint.load(tabular_ckpt)
    stats = ckpt.input.stats
    expected = ckpt.model.predict_proba((raw - stats["mean"]) / stats["std"])
    probs, index = _run(out, raw)
    assert np.abs(probs - expected).max() < TOL
    np.testing.assert_array_equal(index, expected.argmax(axis=1))
    # Without the transform the answers would differ (on a few hundred rows): the check above is not vacuous.
    big = read_feature_csv(trained.write_tabular_csv(tmp_path / "big.csv", n=300, seed=99), trained.FEATURES)
    assert np.abs(ckpt.model.predict_proba(big) - ckpt.model.predict_proba((big - stats["mean"]) / stats["std"])).max() > 0.1
    classes = json.loads({p.key: p.value for p in onnx.load(str(out)).metadata_props}["classes"])
    assert classes == ["heron", "ibis", "stork"]


@pytest.mark.parametrize("output", sorted(OUTPUT_OPS))
@pytest.mark.parametrize("activation", sorted(HIDDEN_OPS))
def test_every_activation_and_output(activation, output, tmp_path):
    path = trained.random_image_model(tmp_path / "m.npz", activation, output)
    out = export(path, tmp_path / "m.onnx")
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (64, 784)).astype(np.float32)
    expected = checkpoint.load(path).model.predict_proba(raw / 255.0)
    probs, _ = _run(out, raw)
    assert np.abs(probs - expected).max() < TOL


def test_missing_values_take_the_training_mean(tabular_ckpt, tmp_path):
    out = export(tabular_ckpt, tmp_path / "birds.onnx")
    raw = read_feature_csv(trained.write_tabular_csv(tmp_path / "r.csv", n=50, seed=7), trained.FEATURES)
    raw[::3, 1] = np.nan
    raw[1, :] = np.nan
    ckpt = checkpoint.load(tabular_ckpt)
    stats = ckpt.input.stats
    filled = np.where(np.isnan(raw), stats["mean"], raw)  # the training mean, standardized to 0
    expected = ckpt.model.predict_proba((filled - stats["mean"]) / stats["std"])
    probs, _ = _run(out, raw)
    assert np.isfinite(probs).all() and np.abs(probs - expected).max() < TOL


def test_opset_and_ir_version_are_what_onnxruntime_reads(tabular_ckpt, tmp_path):
    model = onnx.load(str(export(tabular_ckpt, tmp_path / "m.onnx")))
    assert model.opset_import[0].version >= 13
    assert model.ir_version <= onnx.IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    assert [o.name for o in model.graph.output][0] == "probabilities"


def test_unknown_stored_input_array_is_refused_in_one_line(tabular_ckpt, tmp_path):
    ckpt = checkpoint.load(tabular_ckpt)
    bad = tmp_path / "bad.npz"
    checkpoint.save(bad, ckpt.model, ckpt.meta, {"input.categories": np.zeros(3, np.float32)})
    with pytest.raises(ExportError, match=r"bad\.npz: .*'input\.categories'"):
        export(bad, tmp_path / "bad.onnx")


def test_cli_export_writes_a_file_and_errors_are_one_line(tabular_ckpt, tmp_path):
    r = CliRunner().invoke(cli, ["export", str(tabular_ckpt), "--format", "onnx", "-o", str(tmp_path / "x.onnx")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "x.onnx").stat().st_size > 0
    r = CliRunner().invoke(cli, ["export", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "y.onnx")])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.strip().splitlines()[-1].startswith("error: ") and "missing.npz" in r.output
    r = CliRunner().invoke(cli, ["export", str(tabular_ckpt), "-o", str(tmp_path / "no" / "dir.onnx")])
    assert r.exit_code == 1 and "no such folder" in r.output
    assert not (tmp_path / "y.onnx").exists()
