"""Where one ``POST /predict`` of a PNG digit spends its time in ``mlpnet serve``: a table.

    python scripts/serve_profile.py --model M [--repeat 2000]

Each stage is timed in this process on real MNIST test digits (PNG files, as clients send
them), in the order the server runs them: decode the PNG, preprocess it as ``mlpnet
predict`` does, the forward pass, building the answer (with the network's input as a PNG
for the page), and JSON. Then the whole request through the ASGI app in-process (routing,
middleware, metrics, body reading; no sockets) and, for comparison, what handing the work
to a thread would add (the hop the server no longer makes for small uploads). Last, the
mean latency one client sees over HTTP against ``mlpnet serve --workers 1`` (``hey -c 1``),
whose excess over the app is the HTTP server (uvicorn, httptools, the loopback socket and
hey itself). M defaults to a small model trained on the MNIST sample, as in serve_bench.py.
Batch sizes: the forward pass of 1 row against 16 rows at once, which bounds what dynamic
batching could save.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("serve_bench", REPO / "scripts" / "serve_bench.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def per_call_us(fn, items: list, repeat: int) -> float:
    """Median over 5 rounds of the mean time per call, in microseconds."""
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for i in range(repeat):
            fn(items[i % len(items)])
        rounds.append((time.perf_counter() - t0) / repeat * 1e6)
    return float(np.median(rounds))


def asgi_request_us(app, body: bytes, repeat: int) -> float:
    """Mean time of a whole POST /predict through the ASGI app, no sockets."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"image/png"), (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "scheme": "http"}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        pass

    async def run(n):
        t0 = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), receive, send)
        return (time.perf_counter() - t0) / n * 1e6

    async def rounds():
        await run(50)
        return [await run(repeat) for _ in range(5)]

    return float(np.median(asyncio.run(rounds())))


def thread_hop_us(repeat: int) -> float:
    """What ``await run_in_threadpool(f)`` costs over calling ``f``."""
    from starlette.concurrency import run_in_threadpool

    async def run():
        t0 = time.perf_counter()
        for _ in range(repeat):
            await run_in_threadpool(int)
        return (time.perf_counter() - t0) / repeat * 1e6

    return float(np.median([asyncio.run(run()) for _ in range(3)]))


def http_mean_us(model: Path, body: bytes, seconds: float) -> float | None:
    if bench.HEY is None:
        return None
    server = bench.Server(model, "--workers", "1")
    try:
        bench.hey(server.url + "/predict", body, "image/png", 1, 1)  # warm-up
        with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as f:
            f.write(body)
        out = subprocess.run([bench.HEY, "-z", f"{seconds}s", "-c", "1", "-m", "POST", "-T", "image/png", "-D",
                              f.name, server.url + "/predict"], capture_output=True, text=True).stdout
        os.unlink(f.name)
        m = re.search(r"Average:\s+([\d.]+) secs", out)
        return float(m.group(1)) * 1e6 if m else None
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, help="image checkpoint [default: train a small one]")
    ap.add_argument("--repeat", type=int, default=2000, help="calls per timing round")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the HTTP measurement")
    args = ap.parse_args()

    from mlpnet.data import images
    from mlpnet.data.idx import read_idx
    from mlpnet.serve.app import create_app
    from mlpnet.serve.model import Served
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # as in each server worker
    scratch = Path(tempfile.mkdtemp(prefix="serve-profile-"))
    try:
        model = args.model or bench.train_models(scratch)[0]
        folder = bench.SHARED_MNIST if (bench.SHARED_MNIST / "t10k-images-idx3-ubyte.gz").exists() else bench.SAMPLE_MNIST
        digits = read_idx(folder / "t10k-images-idx3-ubyte.gz")[:200]
        pngs = [bench.png_bytes(d) for d in digits]
        served = Served(model)
        decoded = [images.load_image_bytes(p) for p in pngs]
        seen = [served.input.image(d) for d in decoded]
        probs = [served._forward(s.reshape(1, -1))[0][0] for s in seen]
        answers = [served._image_answer(s, p) for s, p in zip(seen, probs)]
        n = args.repeat
        stages = [
            ("decode the PNG (Pillow)", per_call_us(images.load_image_bytes, pngs, n)),
            ("preprocess as mlpnet predict (to_mnist)", per_call_us(served.input.image, decoded, n)),
            ("forward pass, 1 row (float64)", per_call_us(lambda s: served._forward(s.reshape(1, -1)), seen, n)),
            ("answer dict + the input as PNG/base64", per_call_us(lambda a: served._image_answer(*a),
                                                                  list(zip(seen, probs)), n)),
            ("JSON encoding of the answer", per_call_us(lambda a: json.dumps(a, separators=(",", ":")).encode(),
                                                        answers, n)),
        ]
        model_us = sum(us for _, us in stages)
        app = create_app(model)
        app_us = asgi_request_us(app, pngs[0], n)
        hop = thread_hop_us(n)
        http = http_mean_us(model, pngs[0], args.seconds)
        x1 = seen[0].reshape(1, -1)
        x16 = np.stack([s.reshape(-1) for s in seen[:16]])
        fwd1 = per_call_us(lambda _: served.checkpoint.predict_proba(x1), [0], n)
        fwd16 = per_call_us(lambda _: served.checkpoint.predict_proba(x16), [0], max(1, n // 4))

        total = http or app_us
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; model "
              f"{'-'.join(map(str, served.checkpoint.model.arch.sizes))}; a {len(pngs[0])}-byte PNG digit\n")
        print("| stage | µs per request | share of one client's request |")
        print("|---|---:|---:|")
        for name, us in stages:
            print(f"| {name} | {us:,.0f} | {us / total:.0%} |")
        print(f"| Starlette routing, middleware, metrics, body (app total {app_us:,.0f} µs) | {app_us - model_us:,.0f} | "
              f"{(app_us - model_us) / total:.0%} |")
        if http:
            print(f"| HTTP server: uvicorn + httptools + loopback + hey (mean latency {http:,.0f} µs) | "
                  f"{http - app_us:,.0f} | {(http - app_us) / total:.0%} |")
        print(f"\nNot paid any more: handing a small request to a thread would add {hop:,.0f} µs "
              f"(run_in_threadpool).")
        print(f"Forward pass: 1 row {fwd1:,.0f} µs; 16 rows {fwd16:,.0f} µs ({fwd16 / 16:,.0f} µs a row). Batching 16 "
              f"requests could save at most {fwd1 - fwd16 / 16:,.0f} µs of a request's {total:,.0f} µs "
              f"({(fwd1 - fwd16 / 16) / total:.0%}), before paying for the wait.")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
