"""Measure the accuracy and training time figures quoted in the README and docs/guide/results.md.

Each row runs the real command line (``mlpnet train`` in a subprocess, timed end to end,
data loading included) and reads the test accuracy from the resulting ``best.npz``:

- Fashion-MNIST with ``configs/fashion-mnist.yaml`` (Debian's ``dataset-fashion-mnist``);
- the default config and the seed article's config on real handwritten digits: the full
  MNIST training set cannot be downloaded here, so the real MNIST test set is split into
  8,000 digits for training and 2,000 unseen ones for testing, written as an ``idx``
  folder;
- scikit-learn's 8x8 digits written out as CSV (if scikit-learn is installed).

Usage::

    python scripts/results.py [--only fashion,digits,seed,csv] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import imagestyles  # noqa: E402  (the shared lookup of the real MNIST test set)

from mlpnet.data.idx import read_idx_pair, write_idx  # noqa: E402


def run(label: str, args: list[str], out: Path) -> dict:
    """Run ``mlpnet train ARGS -o OUT`` and return time and test metrics."""
    cmd = [sys.executable, "-m", "mlpnet", "train", *args, "-o", str(out), "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{label}: mlpnet train failed:\n{proc.stderr}")
    info = subprocess.run([sys.executable, "-m", "mlpnet", "info", str(out / "best.npz"), "--json"],
                          capture_output=True, text=True, check=True).stdout
    d = json.loads(info)
    epoch_s = [float(line.split(",")[-1]) for line in (out / "metrics.csv").read_text().splitlines()[1:]]
    return {"label": label, "command": "mlpnet train " + " ".join(args), "seconds": seconds,
            "epochs": d["run_epochs"], "median_epoch_s": float(np.median(epoch_s)),
            "test_accuracy": d["test"]["accuracy"], "test_loss": d["test"]["loss"], "n_test": d["test"]["n"],
            "best_epoch": d["epoch"], "val_accuracy": d["metrics"].get("val_accuracy")}


def digits_idx(folder: Path) -> Path:
    """The real MNIST test digits split 8,000 / 2,000 as an ``idx`` dataset folder."""
    src = imagestyles.mnist_dir()
    if src is None:
        raise SystemExit("real MNIST digits not found: set MLPNET_TEST_MNIST")
    x, y = read_idx_pair(src / "t10k-images-idx3-ubyte.gz", src / "t10k-labels-idx1-ubyte.gz")
    for name, arr in (("train-images-idx3-ubyte.gz", x[:8000]), ("train-labels-idx1-ubyte.gz", y[:8000]),
                      ("t10k-images-idx3-ubyte.gz", x[8000:]), ("t10k-labels-idx1-ubyte.gz", y[8000:])):
        write_idx(folder / name, arr)
    return folder


def sklearn_digits_csv(path: Path) -> Path | None:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        return None
    d = load_digits()
    lines = [",".join([f"p{i}" for i in range(64)] + ["digit"])]
    lines += [",".join(str(int(v)) for v in row) + f",{t}" for row, t in zip(d.data, d.target)]
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="fashion,digits,seed,csv")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table (as in docs/guide/results.md)")
    args = ap.parse_args()
    want = set(args.only.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "fashion" in want:
            rows.append(run("Fashion-MNIST, `-c configs/fashion-mnist.yaml` (55k train, 5k validation, 10k test)",
                            ["-c", "configs/fashion-mnist.yaml"], tmp / "fashion"))
        if want & {"digits", "seed"}:
            d = digits_idx(Path(tempfile.mkdtemp(dir=tmp)))
            data = ["--set", "data.dataset=idx", "--set", f"data.path={d}", "--set", "data.val_size=1000"]
            if "digits" in want:
                rows.append(run("real digits, default config `configs/mnist.yaml` (7k train, 1k validation, 2k test)",
                                ["-c", "configs/mnist.yaml", *data], tmp / "digits"))
            if "seed" in want:
                rows.append(run("real digits, the seed article's network `configs/mnist-seed.yaml` "
                                "(7k train, 1k validation, 2k test)", ["-c", "configs/mnist-seed.yaml", *data], tmp / "seed"))
        if "csv" in want and (csv := sklearn_digits_csv(tmp / "digits.csv")) is not None:
            rows.append(run("scikit-learn's 8x8 digits written as CSV, `data.dataset=csv`, hidden [64], 30 epochs "
                            "(1,294 train, 144 validation, 359 test)",
                            ["--set", "data.dataset=csv", "--set", f"data.path={csv}", "--set", "data.label_column=digit",
                             "--set", "data.val_size=0.1", "--set", "model.hidden=[64]", "--set", "train.epochs=30",
                             "--set", "train.batch_size=32", "--set", "name=digits-csv"], tmp / "csv"))
    print(f"# {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}")
    if args.markdown:
        print("| run | test accuracy | epochs (best) | median epoch | wall time |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['label']} | {r['test_accuracy']:.4f} | {r['epochs']} ({r['best_epoch']}) | "
                  f"{r['median_epoch_s']:.2f} s | {r['seconds']:.0f} s |")
    else:
        for r in rows:
            print(json.dumps(r))


if __name__ == "__main__":
    main()
