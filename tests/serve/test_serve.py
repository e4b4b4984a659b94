"""``mlpnet serve``'s HTTP API through Starlette's TestClient, and the real server under uvicorn."""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import imagestyles
import trained
from conftest import needs_mnist
from conftest import REPO

pytest.importorskip("starlette", reason="the serve extra is not installed (pip install 'mlpnet[serve]')")
pytest.importorskip("httpx", reason="httpx (for Starlette's TestClient) is not installed")
pytest.importorskip("multipart", reason="python-multipart is not installed (pip install 'mlpnet[serve]')")

with warnings.catch_warnings():  # Starlette 1.x suggests httpx2; httpx works with every version we support
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from mlpnet.cli import cli  # noqa: E402
from mlpnet.serve.app import create_app  # noqa: E402



@pytest.fixture(scope="module")
def digit_ckpt(tmp_path_factory):
    return trained.train_digits(tmp_path_factory.mktemp("digits"), "model.hidden=[64]", "train.epochs=2")


@pytest.fixture(scope="module")
def client(digit_ckpt):
    with TestClient(create_app(digit_ckpt, max_body=200_000)) as c:
        yield c


@pytest.fixture(scope="module")
def tabular_client(tmp_path_factory):
    with TestClient(create_app(trained.train_tabular(tmp_path_factory.mktemp("tab")))) as c:
        yield c


def _png(img: Image.Image) -> bytes:
    b = io.BytesIO()
    img.save(b, format="PNG")
    return b.getvalue()


def _one_line_error(r, status: int) -> str:
    assert r.status_code == status, r.text
    doc = r.json()
    assert list(doc) == ["error"] and "\n" not in doc["error"] and "Traceback" not in doc["error"]
    return doc["error"]


@needs_mnist
@pytest.mark.slow  # the module's digit model trains first
def test_predict_gives_the_cli_answer_for_the_same_files(client, digit_ckpt, tmp_path):
    x, _ = trained.mnist_t10k()
    rng = np.random.default_rng(0)
    files = []
    for i, style in enumerate([imagestyles.inverted, imagestyles.large_canvas, imagestyles.noisy_jpeg,
                               imagestyles.rgba_transparent, imagestyles.original]):
        ext = "jpg" if style is imagestyles.noisy_jpeg else "png"
        path = tmp_path / f"d{i}.{ext}"
        style(x[9000 + i], rng, path)
        files.append(path)
    r = CliRunner().invoke(cli, ["predict", *map(str, files), "--model", str(digit_ckpt), "--json", "--top-k", "10"])
    assert r.exit_code == 0, r.output
    for path, cli_answer in zip(files, json.loads(r.stdout)):
        for how in ("multipart", "raw"):
            if how == "multipart":
                resp = client.post("/predict?pixels=1&activations=1",
                                   files={"file": (path.name, path.read_bytes(), "image/png")})
            else:
                resp = client.post("/predict?pixels=1&activations=1", content=path.read_bytes(),
                                   headers={"content-type": "image/png"})
            assert resp.status_code == 200, resp.text
            a = resp.json()
            assert (a["label"], a["index"]) == (cli_answer["label"], cli_answer["index"])
            assert a["probability"] == pytest.approx(cli_answer["probability"], abs=1e-6)
            assert sum(a["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
            assert list(a["probabilities"]) == [str(k) for k in range(10)]
            # The image the network saw, as PNG and as pixels: what --save-preprocessed writes.
            seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(a["input"]["png"]))))
            assert seen.shape == (28, 28)
            np.testing.assert_array_equal(seen.reshape(-1), a["input"]["pixels"])
            assert [len(h) for h in a["activations"]] == [64]


@needs_mnist
@pytest.mark.slow  # the module's digit model trains first
def test_batch_predict_answers_each_file_and_reports_bad_ones(client):
    x, y = trained.mnist_t10k()
    good = [("file", (f"{k}.png", _png(Image.fromarray(x[9100 + k])), "image/png")) for k in range(3)]
    r = client.post("/batch_predict", files=[*good, ("file", ("junk.png", b"not an image", "image/png"))])
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert [p["file"] for p in preds] == ["0.png", "1.png", "2.png", "junk.png"]
    assert all("label" in p for p in preds[:3]) and "not a recognised image" in preds[3]["error"]
    single = client.post("/predict", files={"file": good[0][1]}).json()
    assert preds[0]["probabilities"] == single["probabilities"]
    assert "pixels" not in single["input"] and "activations" not in single  # only when asked for


@needs_mnist
@pytest.mark.slow  # the module's digit model trains first
def test_health_model_and_openapi(client, digit_ckpt):
    assert client.get("/health").json() == {"status": "ok", "model": "best.npz"}  # no folder of the server's disk
    from mlpnet.info import describe

    r = CliRunner().invoke(cli, ["info", str(digit_ckpt), "--json"])
    served, local = client.get("/model").json(), json.loads(r.stdout)
    assert local == json.loads(json.dumps(describe(digit_ckpt)))
    assert served["path"] == "best.npz" and served["data_path"] == Path(local["data_path"]).name
    assert str(digit_ckpt.parent) not in json.dumps(served)
    for key in ("path", "data_path", "config"):
        served.pop(key), local.pop(key)
    assert served == local
    schema = client.get("/openapi.json").json()
    assert {"/predict", "/batch_predict", "/health", "/model"} <= set(schema["paths"])
    assert "413" in schema["paths"]["/predict"]["post"]["responses"]
    assert client.get("/docs").status_code == 200


@needs_mnist
@pytest.mark.slow  # the module's digit model trains first
def test_page_and_static_files_come_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and 'data-testid="canvas"' in page.text and 'data-testid="clear"' in page.text
    assert 'data-testid="prediction"' in page.text
    for name in ("app.js", "style.css"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.content) > 500
    # Nothing is loaded from another host.
    for text in (page.text, client.get("/static/app.js").text, client.get("/static/style.css").text,
                 client.get("/docs").text):
        assert "http://" not in text and "https://" not in text and "//cdn" not in text


@needs_mnist
@pytest.mark.slow  # the module's digit model trains first
def test_bad_input_is_a_4xx_one_line_json_error_and_the_server_keeps_serving(client):
    x, _ = trained.mnist_t10k()
    digit = _png(Image.fromarray(x[9200]))
    assert "not a recognised image" in _one_line_error(client.post("/predict", content=b"hello, world"), 400)
    assert "not a recognised image" in _one_line_error(
        client.post("/predict", files={"file": ("x.txt", b"plain text", "text/plain")}), 400)
    truncated = _one_line_error(client.post("/predict", content=digit[: len(digit) // 2]), 400)
    assert "truncated" in truncated or "corrupt" in truncated
    assert "no ink" in _one_line_error(client.post("/predict", content=_png(Image.new("L", (80, 80), 255))), 422)
    assert "empty" in _one_line_error(client.post("/predict", content=b""), 400)
    assert "one file" in _one_line_error(client.post("/predict", files={"other": ("a.png", digit)}), 400)
    assert "reads 28x28 images" in _one_line_error(client.post("/predict", json={"rows": [[1, 2]]}), 422)
    assert "not valid JSON" in _one_line_error(
        client.post("/predict", content=b"{rows", headers={"content-type": "application/json"}), 400)
    assert "Not Found" in _one_line_error(client.get("/nope"), 404)
    assert _one_line_error(client.get("/predict"), 405)
    assert client.post("/predict", content=digit).status_code == 200


@needs_mnist
@pytest.mark.slow  # the module's digit model trains first
def test_body_over_the_limit_is_413_while_streaming(client):
    # Declared length over the limit: refused before reading.
    assert "limit of 200,000 bytes" in _one_line_error(client.post("/predict", content=b"x" * 300_000), 413)
    # No Content-Length (chunked): the body is counted as it arrives and cut off at the
    # limit. Driven through ASGI directly, since the TestClient sends the whole body first.
    status, body, chunks_read = _asgi_post(client.app, [b"x" * 10_000] * 1000)
    assert status == 413 and "limit of 200,000 bytes" in json.loads(body)["error"]
    assert chunks_read <= 21  # 21 chunks pass 200,000 bytes; the other 979 were never read
    _one_line_error(client.post("/batch_predict", files={"file": ("big.png", b"x" * 300_000)}), 413)
    assert client.get("/health").status_code == 200


def _asgi_post(app, chunks: list[bytes]) -> tuple[int, bytes, int]:
    """POST ``chunks`` without a Content-Length; returns the status, body and chunks consumed."""
    import asyncio

    read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"image/png"), (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "scheme": "http"}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, read


def test_tabular_rows_as_lists_and_as_objects(tabular_client, tmp_path):
    csv = trained.write_tabular_csv(tmp_path / "rows.csv", n=5, seed=3)
    header, *lines = csv.read_text().splitlines()
    rows = [[float(v) for v in line.split(",")[:4]] for line in lines]
    r = tabular_client.post("/predict", json={"rows": rows})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert len(preds) == 5 and set(preds[0]["probabilities"]) == {"heron", "ibis", "stork"}
    as_objects = [dict(zip(trained.FEATURES, row)) for row in rows]
    assert tabular_client.post("/predict", json={"rows": as_objects}).json()["predictions"] == preds
    # The same answers as `mlpnet predict rows.csv`.
    model = tabular_client.app.state.served.path
    out = CliRunner().invoke(cli, ["predict", str(csv), "--model", str(model), "--json"])
    assert [p["label"] for p in json.loads(out.output)] == [p["label"] for p in preds]


def test_tabular_bad_rows(tabular_client):
    post = tabular_client.post
    assert "has 3 values, the model needs 4" in _one_line_error(post("/predict", json={"rows": [[1, 2, 3]]}), 422)
    assert "no value for column 'age_days'" in _one_line_error(
        post("/predict", json={"rows": [{"length_cm": 1, "weight_kg": 2, "ratio": 3}]}), 422)
    assert "'abc' is not a number" in _one_line_error(post("/predict", json={"rows": [[1, 2, "abc", 4]]}), 422)
    assert "non-empty list" in _one_line_error(post("/predict", json={"rows": []}), 422)
    assert '{"rows"' in _one_line_error(post("/predict", json=[1, 2]), 400)
    assert "reads rows of 4 features" in _one_line_error(post("/predict", content=b"\x89PNG...."), 422)
    assert post("/predict", json={"rows": [[12, 2100, 50, 0.2]]}).status_code == 200
    assert "row 0, column 'ratio': missing value, and the model was trained with data.missing: error" in \
        _one_line_error(post("/predict", json={"rows": [[12, 2100, 50, None]]}), 422)


def test_word_columns_and_missing_values_as_raw_rows(tmp_path):
    """A CSV model with a word column, trained with data.missing=mean, takes raw rows over HTTP and from
    Python, with mlpnet predict's answers."""
    from starlette.testclient import TestClient

    import mlpnet
    from mlpnet.predict import predict_files
    from mlpnet.serve.app import create_app

    rng = np.random.default_rng(0)
    colors = np.array(["red", "green", "blue"])
    lines = ["size,color,weight,label"]
    for i in range(300):
        c, s = rng.integers(3), rng.normal(10, 2)
        w = "" if i % 25 == 0 else f"{s * 3 + rng.normal():.3f}"
        lines.append(f"{s:.3f},{colors[c]},{w},{'big' if s + c > 11 else 'small'}")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(cli, ["train", "--set", "data.dataset=csv", "--set", f"data.path={tmp_path / 't.csv'}",
                                 "--set", "data.missing=mean", "--set", "train.epochs=3", "-o",
                                 str(tmp_path / "run"), "--no-progress"])
    assert r.exit_code == 0, r.output
    ckpt = tmp_path / "run" / "best.npz"
    rows = [[9.5, "red", 28.1], [12.0, "purple", None], {"size": 11.0, "color": "blue", "weight": "NA"}]
    (tmp_path / "rows.csv").write_text("size,color,weight\n9.5,red,28.1\n12.0,purple,\n11.0,blue,NA\n")
    want = [p.probability for p in predict_files(ckpt, [str(tmp_path / "rows.csv")]).predictions]
    got = TestClient(create_app(ckpt)).post("/predict", json={"rows": rows}).json()["predictions"]
    np.testing.assert_allclose([g["probability"] for g in got], want, atol=1e-6)
    model = mlpnet.load(ckpt)
    assert model.n_features_in_ == 3 and list(model.feature_names_in_) == ["size", "color", "weight"]
    np.testing.assert_allclose(model.predict_proba(rows).max(axis=1), want, atol=1e-6)


def test_serve_without_a_checkpoint_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["serve"])
    assert r.exit_code == 1 and r.output.strip().startswith("error: ") and "best.npz" in r.output


@pytest.mark.slow
def test_real_server_answers_and_stops_cleanly_on_ctrl_c(tabular_client):
    proc, url = trained.start_server(tabular_client.app.state.served.path)
    try:
        req = urllib.request.Request(url + "/predict", data=json.dumps({"rows": [[12, 2100, 50, 0.2]]}).encode(),
                                     headers={"Content-Type": "application/json"})
        assert json.loads(urllib.request.urlopen(req, timeout=5).read())["predictions"][0]["label"] in {
            "heron", "ibis", "stork"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and out.strip().endswith("stopped")


@pytest.mark.slow
def test_port_in_use_is_one_line(tabular_client):
    proc, url = trained.start_server(tabular_client.app.state.served.path)
    try:
        port = url.rsplit(":", 1)[1]
        r = subprocess.run([sys.executable, "-m", "mlpnet", "serve", "--model", str(tabular_client.app.state.served.path),
                            "--port", port], capture_output=True, text=True, timeout=30, cwd=REPO)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert r.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port} (Address already in use)"]
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.communicate(timeout=15)


@needs_mnist
@pytest.mark.slow  # the module's digit model trains first
def test_a_large_upload_runs_off_the_event_loop(digit_ckpt, monkeypatch):
    """While the prediction of a photo-sized upload is stuck in its worker thread, /health still answers.

    (A digit-sized one is answered on the event loop: it takes less than the hop to a thread.)"""
    import threading

    from mlpnet.serve.model import Served

    release, entered = threading.Event(), threading.Event()
    real = Served.predict_image

    def slow(self, *args, **kwargs):
        entered.set()
        release.wait(timeout=10)  # bounded: a blocked loop fails the test instead of hanging it
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Served, "predict_image", slow)
    x, _ = trained.mnist_t10k()
    noise = np.random.default_rng(0).integers(0, 8, (448, 448), dtype=np.uint8)
    photo = _png(Image.fromarray(np.kron(x[0], np.ones((16, 16), np.uint8)) // 2 + noise))
    from mlpnet.serve.app import INLINE_BYTES

    assert len(photo) > INLINE_BYTES
    with TestClient(create_app(digit_ckpt)) as c:
        result = {}
        t = threading.Thread(target=lambda: result.update(r=c.post("/predict", content=photo)))
        t.start()
        assert entered.wait(timeout=10)
        assert c.get("/health").status_code == 200
        assert not release.is_set() and t.is_alive()  # /health was answered while predict was still busy
        release.set()
        t.join(timeout=10)
    assert result["r"].status_code == 200
