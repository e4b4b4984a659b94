"""Load test of ``mlpnet serve`` with an outside load generator (Debian's ``hey``).

    python scripts/serve_bench.py --model M --tabular-model T           # the table
    python scripts/serve_bench.py --model M --tabular-model T --abuse   # and bad clients under load

Starts the default command, ``mlpnet serve --model M`` (plus ``--port 0``), on 127.0.0.1,
and drives it with ``hey`` (a separate Go process, so the clients do not share the
server's Python) for 1 and 16 clients (``--duration`` seconds each) and 64 clients
(``--long`` seconds), posting:

* ``png``: a real MNIST test digit as a PNG file to /predict (raw body);
* ``json-pixels``: the same digit as JSON ``{"rows": [[784 pixels]]}`` to /predict;
* ``csv-rows``: a row of the tabular model's CSV as JSON ``{"rows": [[...]]}`` to T's server.

Each line gives requests per second, p50/p95/p99 (hey's), the answers that were not 200 and
the failed connections, and the growth of the server's memory (the resident size of the
parent and its workers, after the run over before it). ``--abuse`` then runs 16 PNG
clients for ``--abuse-duration`` seconds while, at the same time, a burst of 50 MB bodies
(declared and chunked), truncated multipart uploads and clients sending one byte a
second hit the same server, and reports the 16 clients' p99 with and without them, every
5xx, and how each kind of bad client was answered.

M and T: any image checkpoint and any tabular (CSV-trained) checkpoint. Without
``--model``/``--tabular-model`` the script trains small ones first (a 784-256-128-10 on
the MNIST sample mlpnet ships, 3 epochs; a 4-feature CSV model), as you could with::

    mlpnet train --set data.dataset=mnist-sample --set train.epochs=3 -o /tmp/m   # M = /tmp/m/best.npz
    mlpnet train --set data.dataset=csv --set data.path=birds.csv -o /tmp/t       # T = /tmp/t/best.npz

The figures are only as quiet as the machine: the script prints the load average before
each run, and the number of cores.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist-t10k"
SAMPLE_MNIST = REPO / "mlpnet" / "data" / "samples" / "mnist-sample"
HEY = shutil.which("hey")


# -- models and payloads --------------------------------------------------------------------

def mnist_digit(index: int = 0) -> np.ndarray:
    """A real MNIST test digit (28, 28) uint8: ../shared/data/mnist-t10k, else the sample mlpnet ships."""
    from mlpnet.data.idx import read_idx

    folder = SHARED_MNIST if (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists() else SAMPLE_MNIST
    return read_idx(folder / "t10k-images-idx3-ubyte.gz")[index]


def png_bytes(img: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def train_models(folder: Path) -> tuple[Path, Path]:
    """Small image and tabular checkpoints, trained with ``mlpnet train`` (a few seconds)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 600)
    centres = np.array([[10.0, 2000.0, 30.0, 0.1], [14.0, 2600.0, 90.0, 0.5], [18.0, 2300.0, 150.0, 0.9]])
    x = centres[y] + rng.normal(size=(600, 4)) * np.array([1.5, 200.0, 20.0, 0.15])
    names = np.array(["heron", "ibis", "stork"])
    lines = ["length_cm,weight_kg,age_days,ratio,species"]
    lines += [",".join(f"{v:.4f}" for v in row) + f",{names[c]}" for row, c in zip(x, y)]
    (folder / "birds.csv").write_text("\n".join(lines) + "\n")
    runs = [("digits", ["data.dataset=mnist-sample", "train.epochs=3"]),
            ("birds", ["data.dataset=csv", f"data.path={folder / 'birds.csv'}", "train.epochs=5"])]
    for name, sets in runs:
        cmd = [sys.executable, "-m", "mlpnet", "train", "-o", str(folder / name), "--no-progress"]
        for s in sets:
            cmd += ["--set", s]
        subprocess.run(cmd, check=True, capture_output=True, cwd=folder)
    return folder / "digits" / "best.npz", folder / "birds" / "best.npz"


def first_csv_row(model: Path) -> list:
    """A row the tabular model reads: its training file's first row if it is at hand, else zeros."""
    from mlpnet import checkpoint

    ckpt = checkpoint.load(model)
    columns = ckpt.input.columns
    path = ckpt.meta.config.get("data", {}).get("path")
    if path and Path(path).is_file():
        import csv

        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            row = next(reader)
        if all(c in row for c in columns):
            return [_number_or_word(row[c]) for c in columns]
    return [0.0] * len(columns)


def _number_or_word(v: str):
    try:
        return float(v)
    except ValueError:
        return v


# -- the server ------------------------------------------------------------------------------

class Server:
    """``mlpnet serve --model M --port 0 [extra]`` in its own process group, stopped with SIGTERM."""

    def __init__(self, model: Path, *extra: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "mlpnet", "serve", "--model", str(model), "--port", "0",
                                      *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("serving on "):
            self.proc.kill()
            sys.exit(f"serve_bench: the server did not start ({line!r}: {self.proc.stderr.read()[-500:]})")
        self.url = line.split("serving on ")[1]
        self.host, self.port = self.url.rsplit("/", 1)[1].rsplit(":", 1)[0], int(self.url.rsplit(":", 1)[1])
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        # Every worker answers a few requests before anything is measured (imports, first calls).
        for _ in range(20):
            urllib.request.urlopen(self.url + "/health", timeout=5).read()
        self.start_rss = self.rss_mb()

    def rss_mb(self) -> float:
        """Resident memory of the server and every process under it (the workers)."""
        return sum(_rss_kb(pid) for pid in _tree(self.proc.pid)) / 1024

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            _, err = self.proc.communicate()
        return err


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# -- hey -------------------------------------------------------------------------------------

def hey(url: str, body: bytes, content_type: str, clients: int, seconds: float, headers: dict | None = None) -> dict:
    """Run hey for ``seconds`` with ``clients`` keep-alive connections; its summary as a dict."""
    with tempfile.NamedTemporaryFile(suffix=".body", delete=False) as f:
        f.write(body)
    try:
        cmd = [HEY, "-z", f"{seconds}s", "-c", str(clients), "-m", "POST", "-T", content_type, "-D", f.name,
               "-t", "20"]
        for k, v in (headers or {}).items():
            cmd += ["-H", f"{k}: {v}"]
        out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=seconds + 120).stdout
    finally:
        os.unlink(f.name)
    return parse_hey(out)


def parse_hey(out: str) -> dict:
    """Requests per second, latency percentiles (ms), status counts and errors from hey's summary."""
    def number(pattern: str) -> float | None:
        m = re.search(pattern, out)
        return float(m.group(1)) if m else None

    statuses = {int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    errors = {}
    if "Error distribution:" in out:
        for n, what in re.findall(r"\[(\d+)\]\s+(.+)", out.split("Error distribution:", 1)[1]):
            errors[what.strip()] = int(n)
    pct = {int(p): float(s) * 1000 for p, s in re.findall(r"(\d+)%% in ([\d.]+) secs".replace("%%", "%"), out)}
    return {"req_per_s": number(r"Requests/sec:\s+([\d.]+)"), "p50_ms": pct.get(50), "p95_ms": pct.get(95),
            "p99_ms": pct.get(99), "statuses": statuses, "ok": statuses.get(200, 0),
            "not_200": sum(n for c, n in statuses.items() if c != 200), "errors": sum(errors.values()),
            "error_kinds": errors}


def bench_row(server: Server, name: str, path: str, body: bytes, ctype: str, clients: int, seconds: float) -> dict:
    load = os.getloadavg()[0]
    rss0 = server.rss_mb()
    r = hey(server.url + path, body, ctype, clients, seconds)
    rss1 = server.rss_mb()
    r.update(payload=name, clients=clients, seconds=seconds, load=round(load, 2), rss_mb=round(rss1, 1),
             rss_growth=round(rss1 / rss0, 3) if rss0 else None)
    return r


def print_row(r: dict) -> None:
    def ms(v):
        return "-" if v is None else f"{v:.1f} ms"

    errs = f"{r['not_200']} / {r['errors']}"
    print(f"| {r['payload']} | {r['clients']} | {r['seconds']:g} s | {r['req_per_s']:,.0f} | {ms(r['p50_ms'])} | "
          f"{ms(r['p95_ms'])} | {ms(r['p99_ms'])} | {errs} | {r['rss_mb']:.0f} MB (x{r['rss_growth']}) | "
          f"{r['load']} |", flush=True)
    for kind, n in list(r["error_kinds"].items())[:3]:
        print(f"  error x{n}: {kind[:160]}")


# -- abuse -----------------------------------------------------------------------------------

def _status(sock: socket.socket, timeout: float) -> int | str:
    """The status code of the answer on ``sock``, or what happened instead."""
    sock.settimeout(timeout)
    try:
        head = sock.recv(64)
    except socket.timeout:
        return "no answer"
    except OSError as err:
        return type(err).__name__
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return int(m.group(1)) if m else ("closed" if not head else "garbled")


def big_body(host: str, port: int, chunked: bool) -> int | str:
    """POST 50 MB (declared, or chunked without a length) as fast as the socket takes it."""
    s = socket.create_connection((host, port), timeout=30)
    size = 50 * 1024 * 1024
    head = (f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: image/png\r\n"
            + ("Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n")).encode()
    chunk = b"\x89PNG" + bytes(256 * 1024 - 4)
    try:
        s.sendall(head)
        for _ in range(size // len(chunk)):
            s.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            s.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered 413 and hung up: read that answer
    try:
        return _status(s, 30)
    finally:
        s.close()


def truncated_multipart(host: str, port: int, hang: bool) -> int | str:
    """A multipart upload that stops half-way: then hangs up, or just waits (``hang``)."""
    boundary = "b0undary"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.png\"\r\n"
               f"Content-Type: image/png\r\n\r\n").encode() + png_bytes(mnist_digit(1)) + f"\r\n--{boundary}--\r\n".encode()
    s = socket.create_connection((host, port), timeout=60)
    s.sendall((f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload[: len(payload) // 2])
    if not hang:
        s.close()
        return "sent half, hung up"
    try:
        return _status(s, 60)
    finally:
        s.close()


def slow_client(host: str, port: int, stop: threading.Event) -> tuple[int | str, float]:
    """Send a request one byte a second until answered or hung up on; (what came back, seconds)."""
    t0 = time.perf_counter()
    s = socket.create_connection((host, port), timeout=60)
    request = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 300\r\n\r\n" + bytes(300)
    try:
        for i in range(len(request)):
            if stop.is_set():
                return "still open at the end", time.perf_counter() - t0
            try:
                s.send(request[i:i + 1])
            except OSError:
                break
            s.settimeout(1.0)
            try:
                head = s.recv(64)
            except socket.timeout:
                continue
            except OSError:
                break
            m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
            return (int(m.group(1)) if m else "closed"), time.perf_counter() - t0
        return "closed", time.perf_counter() - t0
    finally:
        s.close()


def abuse(server: Server, png: bytes, seconds: float) -> dict:
    """16 PNG clients alone, then again while bad clients run; their p99 and every outcome."""
    url = server.url + "/predict"
    quiet = hey(url, png, "image/png", 16, seconds)
    stop = threading.Event()
    outcomes: dict[str, list] = {"50 MB declared": [], "50 MB chunked": [], "truncated multipart, hung up": [],
                                 "truncated multipart, waiting": [], "1 byte/s": []}
    threads = []

    def spawn(key, fn, *args):
        t = threading.Thread(target=lambda: outcomes[key].append(fn(*args)), daemon=True)
        threads.append(t)
        t.start()

    result: dict = {}
    loaded = threading.Thread(target=lambda: result.update(hey(url, png, "image/png", 16, seconds)))
    loaded.start()
    time.sleep(min(1.0, seconds / 10))
    h, p = server.host, server.port
    for _ in range(10):
        spawn("1 byte/s", slow_client, h, p, stop)
    for _ in range(5):
        spawn("truncated multipart, waiting", truncated_multipart, h, p, True)
    for burst in range(3):  # bursts of 50 MB bodies, spread over the run
        for _ in range(4):
            spawn("50 MB declared", big_body, h, p, False)
            spawn("50 MB chunked", big_body, h, p, True)
        for _ in range(10):
            spawn("truncated multipart, hung up", truncated_multipart, h, p, False)
        time.sleep(seconds / 4)
    loaded.join()
    stop.set()
    for t in threads:
        t.join(timeout=70)
    counted = {}
    for key, got in outcomes.items():
        tally: dict = {}
        for g in got:
            label = f"{g[0]} after {g[1]:.0f} s" if isinstance(g, tuple) else str(g)
            label = re.sub(r"after (\d+) s", lambda m: f"after ~{m.group(1)} s", label)
            tally[label] = tally.get(label, 0) + 1
        counted[key] = tally
    codes = [g[0] if isinstance(g, tuple) else g for got in outcomes.values() for g in got]
    fivexx = sum(n for c, n in result["statuses"].items() if c >= 500)
    fivexx += sum(1 for c in codes if isinstance(c, int) and c >= 500)
    return {"quiet": quiet, "abused": result, "outcomes": counted, "5xx": fivexx}


# -- main ------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="image checkpoint (M) [default: train a small one]")
    ap.add_argument("--tabular-model", type=Path, help="tabular checkpoint (T) [default: train a small one]")
    ap.add_argument("--serve-args", default="", help="extra options for mlpnet serve, e.g. '--workers 1'")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 16], help="short runs (--duration each)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per short run")
    ap.add_argument("--long", type=float, default=30.0, help="seconds of the 64-client run (0: skip it)")
    ap.add_argument("--payloads", nargs="+", default=["png", "json-pixels", "csv-rows"],
                    choices=["png", "json-pixels", "csv-rows"])
    ap.add_argument("--abuse", action="store_true", help="also run the bad-clients test")
    ap.add_argument("--abuse-duration", type=float, default=20.0, help="seconds of each abuse run")
    ap.add_argument("--json", type=Path, help="also write every result to this JSON file")
    args = ap.parse_args()
    if HEY is None:
        sys.exit("serve_bench: needs hey (apt-get install hey)")

    scratch = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    try:
        model, tabular = args.model, args.tabular_model
        if model is None or tabular is None:
            print("training small models (no --model/--tabular-model given)...", flush=True)
            trained = train_models(scratch)
            model, tabular = model or trained[0], tabular or trained[1]
        digit = mnist_digit(0)
        payloads = {"png": (model, png_bytes(digit), "image/png"),
                    "json-pixels": (model, json.dumps({"rows": [digit.reshape(-1).tolist()]}).encode(),
                                    "application/json"),
                    "csv-rows": (tabular, json.dumps({"rows": [first_csv_row(tabular)]}).encode(),
                                 "application/json")}
        extra = args.serve_args.split()
        print(f"{os.cpu_count()} cores; hey -c N -z Ds against `mlpnet serve --model ... {' '.join(extra)}`; "
              f"load average now {os.getloadavg()[0]:.2f}")
        print("| payload | clients | time | req/s | p50 | p95 | p99 | not 200 / failed | server RSS (growth) | load |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        rows, servers = [], {}
        try:
            for name in args.payloads:
                ckpt, body, ctype = payloads[name]
                if ckpt not in servers:
                    servers[ckpt] = Server(ckpt, *extra)
                server = servers[ckpt]
                runs = [(c, args.duration) for c in args.clients] + ([(64, args.long)] if args.long else [])
                for clients, seconds in runs:
                    r = bench_row(server, name, "/predict", body, ctype, clients, seconds)
                    rows.append(r)
                    print_row(r)
            for ckpt, server in servers.items():
                print(f"server for {ckpt.name}: RSS {server.start_rss:.0f} MB after start, {server.rss_mb():.0f} MB "
                      f"after its runs (x{server.rss_mb() / server.start_rss:.3f})")
            report: dict = {"rows": rows}
            if args.abuse:
                server = servers.get(model) or Server(model, *extra)
                servers[model] = server
                a = abuse(server, payloads["png"][1], args.abuse_duration)
                report["abuse"] = a
                print(f"\nabuse ({args.abuse_duration:g} s, 16 PNG clients): p99 {a['quiet']['p99_ms']:.1f} ms alone, "
                      f"{a['abused']['p99_ms']:.1f} ms with the bad clients; req/s {a['quiet']['req_per_s']:,.0f} -> "
                      f"{a['abused']['req_per_s']:,.0f}; the 16 clients' answers {a['abused']['statuses']}, "
                      f"failed {a['abused']['errors']}; 5xx anywhere: {a['5xx']}")
                for kind, tally in a["outcomes"].items():
                    print(f"  {kind}: " + ", ".join(f"{k} x{n}" for k, n in tally.items()))
        finally:
            for server in servers.values():
                err = server.stop()
                if "Traceback" in err:
                    print(f"server stderr:\n{err[-2000:]}")
        if args.json:
            args.json.write_text(json.dumps(report, indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
