"""What ``data.chunk_rows`` costs and saves: peak memory and time of ``mlpnet train`` on one big CSV, whole and in chunks.

    python scripts/chunk_rows_memory.py [--rows 1000000] [--chunk-rows 50000] [--epochs 2]

Writes a CSV of ``--rows`` rows (20 numeric features, one word column, a word label) into
a temporary folder, then trains on it in fresh processes, the file read whole and then
``--chunk-rows`` rows at a time, and prints for each the peak resident memory (the
process's ``ru_maxrss``), the time to the first epoch, the median time of an epoch and the test
accuracy, with the ratios. Take it on a quiet machine: the load average is printed.
The figures are quoted in docs/guide/own-data.md ("A file bigger than memory").
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_CHILD = r"""
import json, resource, sys, time
from mlpnet.cli import cli
t = time.perf_counter()
try:
    cli(sys.argv[1:], standalone_mode=False)
finally:
    print(json.dumps({"seconds": time.perf_counter() - t,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr)
"""


def write_csv(path: Path, rows: int, seed: int = 0, block: int = 100_000) -> None:
    """Features x0..x19, a word column ``kind`` and a label ``yes``/``no`` that depends on both."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=20)
    with open(path, "w") as f:
        f.write(",".join([f"x{i}" for i in range(20)] + ["kind", "label"]) + "\n")
        for lo in range(0, rows, block):
            n = min(block, rows - lo)
            x = rng.normal(size=(n, 20))
            kind = rng.choice(np.array(["alpha", "beta", "gamma"]), size=n)
            score = x @ w / 4 + np.tanh(x[:, 0] * x[:, 1]) + (kind == "beta") - 0.5
            label = np.where(score + 0.3 * rng.normal(size=n) > 0, "yes", "no")
            text = np.char.add(np.char.add(_join(x), ","), np.char.add(kind, np.char.add(",", label)))
            f.write("\n".join(text.tolist()) + "\n")


def _join(x: np.ndarray) -> np.ndarray:
    cols = [np.char.mod("%.4f", x[:, j]) for j in range(x.shape[1])]
    out = cols[0]
    for c in cols[1:]:
        out = np.char.add(np.char.add(out, ","), c)
    return out


def train(path: Path, out: Path, epochs: int, chunk_rows: int | None, cache: bool = True) -> dict:
    sets = [f"data.path={path}", f"train.epochs={epochs}", "train.batch_size=256", "model.hidden=[64,32]",
            "data.val_size=5000"]
    if chunk_rows:
        sets += [f"data.chunk_rows={chunk_rows}", f"data.chunk_cache={str(cache).lower()}"]
    args = ["train", "--no-progress", "-o", str(out), *[a for s in sets for a in ("--set", s)]]
    r = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"mlpnet train failed:\n{r.stderr}")
    cost = json.loads(r.stderr.strip().splitlines()[-1])
    with open(out / "metrics.csv") as f:
        epochs_s = [float(row["seconds"]) for row in csv.DictReader(f)]
    from mlpnet import checkpoint

    test = checkpoint.load(out / "best.npz").meta.test
    return {**cost, "epoch_s": float(np.median(epochs_s)), "before_s": cost["seconds"] - sum(epochs_s),
            "accuracy": test.get("accuracy")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-rows", type=int, default=50_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--write", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.write:
        write_csv(a.write, a.rows)
        return
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        t = time.perf_counter()
        # written by another process: a child's peak memory starts at its parent's (Linux keeps
        # ru_maxrss across fork and exec), so this one stays small
        subprocess.run([sys.executable, __file__, "--write", str(path), "--rows", str(a.rows)], check=True)
        print(f"{path.name}: {a.rows:,} rows, {path.stat().st_size / 2**20:.0f} MB (written in "
              f"{time.perf_counter() - t:.0f} s)")
        modes = {"read whole": (None, True), f"chunk_rows: {a.chunk_rows}": (a.chunk_rows, True),
                 "... chunk_cache: false": (a.chunk_rows, False)}
        results = {name: train(path, Path(tmp) / str(k), a.epochs, rows, cache)
                   for k, (name, (rows, cache)) in enumerate(modes.items())}
    whole = results["read whole"]
    print("| mode | peak memory | outside the epochs (reading, test, plots) | an epoch (median) | test accuracy |")
    print("|---|---:|---:|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['peak_mb']:.0f} MB (x{r['peak_mb'] / whole['peak_mb']:.2f}) | {r['before_s']:.1f} s "
              f"(x{r['before_s'] / whole['before_s']:.2f}) | {r['epoch_s']:.2f} s (x{r['epoch_s'] / whole['epoch_s']:.2f}) "
              f"| {r['accuracy']:.4f} |")


if __name__ == "__main__":
    main()
