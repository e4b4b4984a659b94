"""Load test for ``mlpnet serve``: N concurrent clients POST one image to /predict on 127.0.0.1.

    python scripts/serve_bench.py --model runs/latest/best.npz --clients 16 --duration 10

Starts ``mlpnet serve`` on a free port (or uses ``--url`` of a running server), lets each
client send requests back to back over its own keep-alive connection for a bounded time
(``--duration``) and count (``--requests``), and reports requests per second, latency
percentiles and errors (a non-200 answer, a failed connection, or an answer that differs
from the first). The clients are threads of this process, so on a small machine they take
CPU from the server: the figures are a lower bound for the server alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist-t10k"


def digit_png(index: int) -> bytes:
    """A real MNIST test digit as PNG bytes."""
    import io

    from PIL import Image

    from mlpnet.data.idx import read_idx

    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
    buf = io.BytesIO()
    Image.fromarray(images[index]).save(buf, format="PNG")
    return buf.getvalue()


def start_server(model: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "mlpnet", "serve", "--model", model, "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("serving on "):
        proc.kill()
        sys.exit(f"serve_bench: the server did not start ({line!r})")
    url = line.split("serving on ")[1]
    for _ in range(200):
        try:
            c = http.client.HTTPConnection(urlsplit(url).hostname, urlsplit(url).port, timeout=1)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.05)
    return proc, url


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return None


def client(url: str, body: bytes, deadline: float, budget: list[int], lock: threading.Lock,
           latencies: list[float], errors: list[str], answers: set[str]) -> None:
    parts = urlsplit(url)
    conn = None
    while time.perf_counter() < deadline:
        with lock:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        t = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            conn.request("POST", "/predict", body=body, headers={"Content-Type": "image/png"})
            resp = conn.getresponse()
            data = resp.read()
            dt = time.perf_counter() - t
            if resp.status != 200:
                errors.append(f"HTTP {resp.status}: {data[:100]!r}")
                continue
            doc = json.loads(data)
            latencies.append(dt)
            answers.add(f"{doc['label']} {doc['probability']:.6f}")
        except (OSError, http.client.HTTPException, ValueError) as err:
            errors.append(f"{type(err).__name__}: {err}")
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()


def run(url: str, body: bytes, clients: int, duration: float, requests: int, pid: int | None = None) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    answers: set[str] = set()
    budget, lock = [requests], threading.Lock()
    cpu0, load0 = cpu_seconds(pid), os.getloadavg()[0]
    t0 = time.perf_counter()
    deadline = t0 + duration
    threads = [threading.Thread(target=client, args=(url, body, deadline, budget, lock, latencies, errors, answers))
               for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    cpu1 = cpu_seconds(pid)
    server_ms = (cpu1 - cpu0) * 1000 / len(latencies) if cpu0 is not None and cpu1 is not None and latencies else None
    lat = np.array(latencies) * 1000
    if len(answers) > 1:
        errors.append(f"answers differ between requests: {sorted(answers)}")
    return {"clients": clients, "requests": len(latencies) + len(errors), "ok": len(latencies),
            "errors": len(errors), "seconds": round(wall, 2), "req_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 1) if lat.size else None,
            "p90_ms": round(float(np.percentile(lat, 90)), 1) if lat.size else None,
            "p99_ms": round(float(np.percentile(lat, 99)), 1) if lat.size else None,
            "max_ms": round(float(lat.max()), 1) if lat.size else None,
            "server_cpu_ms_per_request": None if server_ms is None else round(server_ms, 2),
            "load_average": round(max(load0, os.getloadavg()[0]), 2),
            "first_errors": errors[:3], "answer": sorted(answers)[:1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="runs/latest/best.npz", help="checkpoint to serve")
    ap.add_argument("--url", help="benchmark this running server instead of starting one")
    ap.add_argument("--image", type=Path, help="image file to send [default: real MNIST test digit 0]")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 16], help="concurrent clients (one run per value)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per run (upper bound)")
    ap.add_argument("--requests", type=int, default=100_000, help="requests per run (upper bound)")
    ap.add_argument("--json", action="store_true", help="one JSON object per run instead of a table")
    args = ap.parse_args()

    body = args.image.read_bytes() if args.image else digit_png(0)
    proc = None
    url = args.url
    if url is None:
        proc, url = start_server(args.model)
    try:
        run(url, body, 2, 1.0, 200)  # warm-up: imports, thread pool, BLAS
        if not args.json:
            print(f"{os.cpu_count()} cores; {len(body):,}-byte PNG to {url}/predict")
            print("| clients | requests | req/s | p50 | p90 | p99 | max | errors | server CPU per request | load average |")
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in args.clients:
            r = run(url, body, n, args.duration, args.requests, proc.pid if proc else None)
            if args.json:
                print(json.dumps(r))
            else:
                print(f"| {n} | {r['requests']:,} | {r['req_per_s']:,} | {r['p50_ms']} ms | {r['p90_ms']} ms | "
                      f"{r['p99_ms']} ms | {r['max_ms']} ms | {r['errors']} | "
                      f"{r['server_cpu_ms_per_request']} ms | {r['load_average']} |")
                for e in r["first_errors"]:
                    print(f"  error: {e}")
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=15)


if __name__ == "__main__":
    main()
