"""How fast, and in how much memory, does mlpnet read a big CSV file, next to pandas and NumPy?

Writes Fashion-MNIST's 60,000 training images (Debian's ``dataset-fashion-mnist``) as a
Kaggle-style CSV (``label,pixel1..pixel784``, 133 MB), then reads it with

- ``mlpnet``: ``mlpnet.data.csv.read_csv`` (what ``data.dataset: csv`` does),
- ``pandas``: ``pandas.read_csv`` with its C parser (if pandas is installed),
- ``np.loadtxt``: NumPy's C parser straight into float32,

each in a fresh process, taking turns, ``--repeats`` times. It prints the median time
and the peak memory the load added to the process (peak resident set minus the resident
set after the imports), next to the size of the data as one float32 array.

Usage::

    python scripts/csv_bench.py [--repeats 3] [--rows 60000] [--keep DIR] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlpnet.data.idx import read_idx_pair  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")

WORKER = r"""
import json, sys, time
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
method, path = sys.argv[1], sys.argv[2]
import numpy as np
if method == "pandas":
    import pandas as pd
elif method == "mlpnet":
    from mlpnet.data.csv import read_csv
base = rss("VmRSS:")
t0 = time.perf_counter()
if method == "mlpnet":
    t = read_csv(path)
    shape, dtype = t.x.shape, str(t.x.dtype)
elif method == "pandas":
    df = pd.read_csv(path)
    x = df.drop(columns="label").to_numpy(np.float32)
    shape, dtype = x.shape, str(x.dtype)
else:
    x = np.loadtxt(path, dtype=np.float32, delimiter=",", skiprows=1)
    shape, dtype = x.shape, str(x.dtype)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peak_added": rss("VmHWM:") - base, "shape": shape, "dtype": dtype}))
"""


def write_csv(path: Path, rows: int) -> Path:
    """Fashion-MNIST's training images as ``label,pixel1..pixel784`` (Kaggle's fashion-mnist_train.csv)."""
    x, y = read_idx_pair(FASHION / "train-images-idx3-ubyte.gz", FASHION / "train-labels-idx1-ubyte.gz")
    x, y = x.reshape(len(x), -1)[:rows], y[:rows]
    table = np.concatenate([y[:, None].astype(np.int64), x.astype(np.int64)], axis=1)
    with open(path, "w") as f:
        f.write(",".join(["label"] + [f"pixel{i}" for i in range(1, 785)]) + "\n")
        np.savetxt(f, table, fmt="%d", delimiter=",")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=60000)
    ap.add_argument("--keep", type=Path, default=None, help="write (or reuse) the CSV in this folder")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if not (FASHION / "train-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"Fashion-MNIST not found in {FASHION}: apt-get install dataset-fashion-mnist")
    methods = ["mlpnet", "np.loadtxt"]
    try:
        import pandas  # noqa: F401

        methods.insert(1, "pandas")
    except ImportError:
        print("pandas is not installed: its row is left out (pip install pandas)", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"fashion-mnist_train_{args.rows}.csv"
        if not path.exists():
            write_csv(path, args.rows)
        mb = path.stat().st_size / 1e6
        results: dict[str, list[dict]] = {m: [] for m in methods}
        for _ in range(args.repeats):
            for m in methods:  # take turns, so a slow spell of the machine hits every method
                out = subprocess.run([sys.executable, "-c", WORKER, m, str(path)], capture_output=True, text=True,
                                     cwd=ROOT, check=True).stdout
                results[m].append(json.loads(out))
    float32_mb = args.rows * 784 * 4 / 1e6
    rows = []
    for m in methods:
        secs = statistics.median(r["seconds"] for r in results[m])
        peak = max(r["peak_added"] for r in results[m]) / 1e6
        rows.append((m, secs, peak, results[m][0]["dtype"]))
    base = rows[0][1]
    if args.markdown:
        print(f"| reader ({args.rows:,} rows, {mb:.0f} MB) | time | vs mlpnet | peak memory added "
              f"| vs float32 array ({float32_mb:.0f} MB) | result |")
        print("|---|---:|---:|---:|---:|---|")
        for m, secs, peak, dtype in rows:
            print(f"| {m} | {secs:.2f} s | {secs / base:.2f}x | {peak:.0f} MB | {peak / float32_mb:.2f}x | {dtype} |")
    else:
        print(f"{path.name}: {args.rows:,} rows, {mb:.0f} MB; one float32 array of it is {float32_mb:.0f} MB")
        for m, secs, peak, dtype in rows:
            print(f"  {m:11s} {secs:6.2f} s ({secs / base:4.2f}x)   peak +{peak:5.0f} MB "
                  f"({peak / float32_mb:.2f}x float32)   -> {dtype}")


if __name__ == "__main__":
    main()
