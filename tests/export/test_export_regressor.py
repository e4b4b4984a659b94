"""``mlpnet export --format onnx`` for regressors: values in the targets' units inside the graph."""

import numpy as np
import pytest
from click.testing import CliRunner

import mlpnet
from mlpnet import checkpoint
from mlpnet.cli import cli

ort = pytest.importorskip("onnxruntime", reason="pip install 'mlpnet[onnx]' for onnxruntime")
pytest.importorskip("onnx", reason="pip install 'mlpnet[onnx]' for onnx")


def test_regressor_onnx_matches_mlpnet(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, size=(150, 4))
    y = np.c_[1000 + 50 * x[:, 0], -x[:, 1] * x[:, 2]]
    path = mlpnet.MLPRegressor(hidden_layer_sizes=(16,), max_iter=40, random_state=0).fit(x, y).save(
        tmp_path / "reg.npz")
    out = tmp_path / "reg.onnx"
    r = CliRunner().invoke(cli, ["export", "--model", str(path), "--format", "onnx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["values"]
    got = sess.run(["values"], {"input": x[:20].astype(np.float32)})[0]
    want = checkpoint.load(path).predict(x[:20])
    # float32 graph against the float64 network: relative to the targets' scale
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    meta = {p.key: p.value for p in __import__("onnx").load(str(out)).metadata_props}
    assert meta["task"] == "regression" and '"y0"' in meta["targets"]
