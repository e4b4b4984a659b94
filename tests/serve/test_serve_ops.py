"""``mlpnet serve`` in operation: workers, /metrics, the API key, request ids, the access log,
the body limit and the read timeout, draining on SIGTERM; and the small promises of the page and API.

The first tests run the app in-process (Starlette's TestClient); those marked slow start the
real server (uvicorn, worker processes) and talk to it over sockets.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import trained
from conftest import needs_mnist, skip_reason

pytest.importorskip("starlette", reason=skip_reason("starlette"))
pytest.importorskip("httpx", reason=skip_reason("httpx"))
pytest.importorskip("prometheus_client", reason=skip_reason("prometheus_client"))
pytest.importorskip("httptools", reason=skip_reason("httptools"))

with warnings.catch_warnings():  # Starlette 1.x suggests httpx2; httpx works with every version we support
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from mlpnet.cli import cli  # noqa: E402
from mlpnet.serve.app import create_app  # noqa: E402
from mlpnet.serve.server import host_warning  # noqa: E402

HEY = shutil.which("hey")


def _png(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    Image.fromarray(a).save(b, format="PNG")
    return b.getvalue()


def _digit() -> np.ndarray:
    img = np.zeros((28, 28), np.uint8)
    img[6:22, 12:16] = 255
    return img


@pytest.fixture(scope="module")
def image_model(tmp_path_factory) -> Path:
    return trained.random_image_model(tmp_path_factory.mktemp("img") / "model.npz", "relu", "softmax")


@pytest.fixture(scope="module")
def tabular_model(tmp_path_factory) -> Path:
    return trained.train_tabular(tmp_path_factory.mktemp("tab"))


def _metrics(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus text page, keyed by (name, sorted labels)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


# -- in-process ------------------------------------------------------------------------------

def test_metrics_count_requests_by_route_and_status_and_parse(image_model):
    c = TestClient(create_app(image_model))
    for _ in range(3):
        assert c.post("/predict", content=_png(_digit())).status_code == 200
    assert c.post("/predict", content=b"not an image").status_code == 400
    c.get("/no/such/page")
    r = c.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    m = _metrics(r.text)
    assert m[("mlpnet_requests_total", (("method", "POST"), ("route", "/predict"), ("status", "200")))] == 3
    assert m[("mlpnet_requests_total", (("method", "POST"), ("route", "/predict"), ("status", "400")))] == 1
    assert m[("mlpnet_requests_total", (("method", "GET"), ("route", "other"), ("status", "404")))] == 1
    assert m[("mlpnet_request_duration_seconds_count", (("route", "/predict"),))] == 4
    assert m[("mlpnet_batch_size_count", ())] == 3 and m[("mlpnet_batch_size_sum", ())] == 3
    info = [k for k in m if k[0] == "mlpnet_model_info"]
    assert info and dict(info[0][1]) == {"file": "model.npz", "architecture": "784-32-16-10", "input": "image",
                                          "classes": "10"}


def test_api_key_guards_predict_and_batch_predict_only(image_model):
    c = TestClient(create_app(image_model, api_key="s3cret"))
    png = _png(_digit())
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        r = c.post("/predict", content=png, headers=headers)
        assert r.status_code == 401 and "API key" in r.json()["error"] and r.headers["www-authenticate"]
    assert c.post("/batch_predict", files={"file": ("a.png", png)}).status_code == 401
    assert c.post("/predict", content=png, headers={"X-API-Key": "s3cret"}).status_code == 200
    assert c.post("/predict", content=png, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    for path in ("/", "/health", "/model", "/metrics", "/openapi.json"):  # the rest stays open
        assert c.get(path).status_code == 200, path


def test_request_id_is_echoed_or_made(image_model):
    c = TestClient(create_app(image_model))
    assert c.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = {c.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(made) == 3 and all(re.fullmatch(r"[0-9a-f]{16}", m) for m in made)
    # Not echoed when it could break a log line or a header: replaced by a fresh one.
    odd = c.get("/health", headers={"X-Request-ID": "a b\"c"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", odd)
    assert c.post("/predict", content=b"junk").headers["x-request-id"]  # errors carry it too


def test_access_log_has_one_line_per_request(image_model):
    log = io.StringIO()
    c = TestClient(create_app(image_model, access_log=log))
    c.post("/predict?pixels=1", content=_png(_digit()), headers={"X-Request-ID": "req-7"})
    c.get("/nope")
    lines = log.getvalue().splitlines()
    assert len(lines) == 2
    assert re.match(r'\S+Z \S+ "POST /predict\?pixels=1" 200 \d+ [\d.]+ms id=req-7 pid=\d+$', lines[0]), lines[0]
    assert '"GET /nope" 404' in lines[1]


def test_small_promises_of_the_api_and_page(image_model, tabular_model):
    c = TestClient(create_app(image_model))
    r = c.get("/predict")
    assert r.status_code == 405 and r.headers["allow"] == "POST" and list(r.json()) == ["error"]
    assert c.get("/favicon.ico").status_code == 204
    r = c.post("/predict?pixels=abc", content=_png(_digit()))
    assert r.status_code == 400 and "pixels" in r.json()["error"]
    assert c.post("/predict?pixels=0&activations=true", content=_png(_digit())).status_code == 200
    assert c.get("/health").json()["model"] == "model.npz"
    assert c.get("/model").json()["path"] == "model.npz"
    assert str(image_model.parent) not in c.get("/").text + json.dumps(c.get("/model").json())
    assert "draw" in c.get("/").text.lower()
    t = TestClient(create_app(tabular_model))
    page = t.get("/").text
    visible = re.sub(r'<div id="draw" hidden>.*?</div>\s*</div>', "", page, flags=re.S)  # the unused canvas
    assert "draw" not in visible.lower() and "Enter the features" in page
    assert str(tabular_model.parent) not in json.dumps(t.get("/model").json()) + json.dumps(t.get("/health").json())


def test_openapi_documents_every_answer_as_an_object(image_model):
    schema = TestClient(create_app(image_model)).get("/openapi.json").json()
    for path, ops in schema["paths"].items():
        for op in ops.values():
            for status, answer in op["responses"].items():
                assert isinstance(answer, dict) and "description" in answer, (path, status)
    assert "401" in schema["paths"]["/predict"]["post"]["responses"]


def test_image_model_takes_json_rows_of_pixels_as_predict_reads_a_pixel_csv(image_model, tmp_path):
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 256, (3, 784)).tolist()
    c = TestClient(create_app(image_model))
    got = c.post("/predict", json={"rows": rows}).json()["predictions"]
    csv = tmp_path / "test.csv"
    csv.write_text(",".join(f"pixel{i}" for i in range(784)) + "\n" + "\n".join(",".join(map(str, r)) for r in rows))
    r = CliRunner().invoke(cli, ["predict", str(csv), "--model", str(image_model), "--json", "--top-k", "10"])
    want = json.loads(r.stdout)
    assert [g["label"] for g in got] == [w["label"] for w in want]
    np.testing.assert_allclose([g["probability"] for g in got], [w["probability"] for w in want], atol=1e-12)
    bad = c.post("/predict", json={"rows": [[300] * 784]})
    assert bad.status_code == 422 and "0..255" in bad.json()["error"]


def test_cli_refuses_two_api_keys_and_an_empty_key_file(image_model, tmp_path):
    empty = tmp_path / "key"
    empty.write_text("\n")
    for args in (["--api-key", "a", "--api-key-file", str(empty)], ["--api-key-file", str(empty)],
                 ["--api-key-file", str(tmp_path / "missing")]):
        r = CliRunner().invoke(cli, ["serve", "--model", str(image_model), *args])
        assert r.exit_code == 1 and r.output.startswith("error: ") and len(r.output.strip().splitlines()) == 1, r.output


def test_a_non_loopback_host_is_warned_about():
    assert host_warning("127.0.0.1", None) is None and host_warning("::1", None) is None
    assert host_warning("localhost", None) is None
    assert "no authentication" in host_warning("0.0.0.0", None)
    assert "API key" in host_warning("192.168.1.5", "k") and "TLS" in host_warning("192.168.1.5", "k")


# -- the real server -------------------------------------------------------------------------

def _post(url: str, body: bytes, ctype: str = "image/png", headers: dict | None = None, timeout: float = 10):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> tuple[str, str]:
    proc.send_signal(sig)
    return proc.communicate(timeout=30)


def _wait_for_workers(url: str, log, n: int, timeout: float = 30) -> None:
    """Until ``n`` worker processes have answered /health (their access-log lines name their pids).

    The server answers /health as soon as one worker is up; on a busy machine the other may still
    be importing, and a short burst would then all go to the first.
    """
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(8) as pool:
        while True:
            list(pool.map(lambda _: urllib.request.urlopen(url + "/health", timeout=10).read(), range(8)))
            log.seek(0)
            if len(set(re.findall(r'"GET /health" 200 .* pid=(\d+)', log.read()))) >= n:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"fewer than {n} workers answered /health within {timeout} s")
            time.sleep(0.1)


@needs_mnist
@pytest.mark.slow  # trains on real digits, starts a server with two workers
def test_workers_answer_as_mlpnet_predict_on_real_digits_and_share_metrics(tmp_path):
    ckpt = trained.train_digits(tmp_path / "digits", "model.hidden=[64]", "train.epochs=2")
    x, _ = trained.mnist_t10k()
    files = []
    for i in range(40):
        path = tmp_path / f"d{i:02d}.png"
        path.write_bytes(_png(x[9000 + i]))
        files.append(path)
    r = CliRunner().invoke(cli, ["predict", *map(str, files), "--model", str(ckpt), "--json", "--top-k", "10"])
    want = json.loads(r.stdout)
    log = open(tmp_path / "stderr.log", "a+")  # append: reading it meanwhile moves no worker's write offset
    proc, url = trained.start_server(ckpt, "--workers", "2", "--access-log", stderr=log)
    try:
        _wait_for_workers(url, log, 2)
        # 16 at a time, 5 rounds: a worker busy answering leaves the next connection to the other.
        with ThreadPoolExecutor(16) as pool:
            rounds = [list(pool.map(lambda p: _post(url + "/predict", p.read_bytes()), files)) for _ in range(5)]
        got, sent = rounds[0], 5 * len(files)
        assert all([b for *_, b in r] == [b for *_, b in rounds[0]] for r in rounds[1:])  # any worker, one answer
        # A request is counted just after its last byte is sent: allow the last ones a moment.
        key = ("mlpnet_requests_total", (("method", "POST"), ("route", "/predict"), ("status", "200")))
        deadline = time.monotonic() + 5
        while True:
            metrics = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
            if _metrics(metrics).get(key) == sent or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        _stop(proc)
        log.seek(0)
        err = log.read()
        log.close()
    assert proc.returncode == 0 and "Traceback" not in err
    for (status, _, body), w in zip(got, want):
        assert status == 200
        a = json.loads(body)
        assert (a["label"], a["index"]) == (w["label"], w["index"])
        probs = {t["label"]: t["probability"] for t in w["top_k"]}
        for label, p in a["probabilities"].items():
            assert p == pytest.approx(probs[label], abs=1e-9)  # mlpnet predict's one batch vs a row: the last bits
    pids = set(re.findall(r'"POST /predict" 200 .* pid=(\d+)', err))
    assert len(pids) == 2, err[-2000:]  # both workers answered, each wrote its own access-log lines
    m = _metrics(metrics)  # whichever worker answered /metrics, it counts both workers' requests
    assert m[key] == sent
    assert m[("mlpnet_batch_size_count", ())] == sent


@pytest.mark.slow  # starts servers
@pytest.mark.skipif(HEY is None, reason="hey is not installed (apt-get install hey)")
def test_sigterm_under_load_answers_every_request_it_received(image_model, tmp_path):
    log = open(tmp_path / "stderr.log", "w+")
    proc, url = trained.start_server(image_model, "--workers", "2", "--access-log", stderr=log)
    png = _png(_digit())
    body = tmp_body = None
    try:
        with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as f:
            f.write(png)
            tmp_body = f.name
        load = subprocess.Popen([HEY, "-z", "4s", "-c", "16", "-m", "POST", "-T", "image/png", "-D", tmp_body,
                                 url + "/predict"], stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        # A request half-sent when SIGTERM arrives: its second half comes after; it is answered in full.
        host, port = url.rsplit("/", 1)[1].split(":")
        s = socket.create_connection((host, int(port)), timeout=10)
        head = (f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/png\r\n"
                f"Content-Length: {len(png)}\r\n\r\n").encode()
        s.sendall(head + png[:100])
        time.sleep(0.3)  # the request has reached a worker
        proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # until every worker has stopped listening: all are draining now
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
            except ConnectionRefusedError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the server still accepts connections 15 s after SIGTERM")
        s.sendall(png[100:])
        body = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        s.close()
        out = load.communicate(timeout=60)[0]
        proc.communicate(timeout=30)
        log.seek(0)
        err = log.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if tmp_body:
            os.unlink(tmp_body)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert body.startswith(b"HTTP/1.1 200"), (body[:170], err)  # answered in full after the listeners closed
    assert json.loads(body.split(b"\r\n\r\n", 1)[1])["label"] in [str(i) for i in range(10)]
    statuses = re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)
    assert statuses and {code for code, _ in statuses} == {"200"}, out  # no 5xx, no other status
    # Every request a worker received was answered 200 (its access-log line), and the client got each of
    # those answers: the server's count of POSTs is hey's count of 200s, plus the one sent by hand above.
    logged = re.findall(r'"POST /predict" (\d{3}) ', err)
    assert set(logged) == {"200"}, set(logged)
    assert len(logged) == sum(int(n) for _, n in statuses) + 1, (len(logged), out)
    # What hey saw fail never reached a worker: refused after the listeners closed, or reset by the kernel
    # when the last listener closed with the connection still in its accept queue (see serve-export.md).
    errors = out.split("Error distribution:", 1)[1] if "Error distribution:" in out else ""
    kinds = re.findall(r"\[\d+\]\s+(.+)", errors)
    assert all("connection refused" in k or "connection reset by peer" in k for k in kinds), kinds


@pytest.mark.slow  # starts a server
def test_slow_clients_get_408_and_others_are_answered_meanwhile(image_model):
    proc, url = trained.start_server(image_model, "--workers", "1", "--read-timeout", "1")
    host, port = url.rsplit("/", 1)[1].split(":")
    results = {}

    def slow(key, request: bytes):
        s = socket.create_connection((host, int(port)), timeout=10)
        t0 = time.perf_counter()
        got = b""
        try:
            for byte in request:
                s.send(bytes([byte]))
                s.settimeout(0.25)
                try:
                    got = s.recv(4096)
                except socket.timeout:
                    continue
                break
        except OSError:
            pass
        results[key] = (got, time.perf_counter() - t0)
        s.close()

    headers_slow = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 300\r\n\r\n"
    threads = [threading.Thread(target=slow, args=("headers", headers_slow)),  # headers a byte at a time
               threading.Thread(target=_slow_body, args=(host, int(port), results))]  # headers whole, body slow
    try:
        for t in threads:
            t.start()
        latencies = []
        t_end = time.perf_counter() + 1.5
        while time.perf_counter() < t_end:
            t0 = time.perf_counter()
            status, _, _ = _post(url + "/predict", _png(_digit()))
            latencies.append(time.perf_counter() - t0)
            assert status == 200
        for t in threads:
            t.join(timeout=10)
    finally:
        _stop(proc)
    assert max(latencies) < 0.5  # the slow ones cost the others nothing
    for key in ("headers", "body"):
        got, seconds = results[key]
        assert got.startswith(b"HTTP/1.1 408") and b"--read-timeout" in got, (key, got)
        assert 0.8 < seconds < 3.0, (key, seconds)


def _slow_body(host: str, port: int, results: dict) -> None:
    s = socket.create_connection((host, port), timeout=10)
    t0 = time.perf_counter()
    s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 300\r\n\r\n")
    got = b""
    s.settimeout(0.25)
    for _ in range(40):
        try:
            s.send(b"x")
            got = s.recv(4096)
            break
        except socket.timeout:
            continue
        except OSError:
            break
    results["body"] = (got, time.perf_counter() - t0)
    s.close()


@pytest.mark.slow  # starts a server
def test_413_for_a_declared_or_chunked_body_over_the_limit_and_the_connection_closes(image_model):
    proc, url = trained.start_server(image_model, "--workers", "1", "--max-body", "100000")
    host, port = url.rsplit("/", 1)[1].split(":")
    try:
        for chunked in (False, True):
            s = socket.create_connection((host, int(port)), timeout=10)
            head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            s.sendall(head + (b"Transfer-Encoding: chunked\r\n\r\n" if chunked else b"Content-Length: 50000000\r\n\r\n"))
            sent = 0
            try:
                while sent < 50_000_000:
                    block = bytes(65536)
                    s.sendall(b"%x\r\n%b\r\n" % (len(block), block) if chunked else block)
                    sent += len(block)
            except OSError:
                pass  # the server answered and hung up
            answer = b""
            try:
                while chunk := s.recv(65536):
                    answer += chunk
            except OSError:
                pass
            s.close()
            assert answer.startswith(b"HTTP/1.1 413") and b"limit of 100,000 bytes" in answer, (chunked, answer[:200])
            assert sent < 10_000_000, sent  # refused early, not read to the end
        assert _post(url + "/predict", _png(_digit()))[0] == 200
    finally:
        _stop(proc)
