"""Measure the CSV accuracy figures quoted in docs/guide/own-data.md (its accuracy table).

Each row runs the real ``mlpnet train`` command in a subprocess on CSV files this script
writes, and reads the test accuracy back from ``best.npz``:

- ``digits``: the real MNIST test digits in Kaggle's digit-recognizer layout
  (``label,pixel0..pixel783``), the first 8,000 as train.csv, the last 2,000 as the test
  file, next to the same split as an ``idx`` folder (what the README's results use);
- ``fashion``: Fashion-MNIST (Debian's ``dataset-fashion-mnist``) in Kaggle's layout
  (``label,pixel1..pixel784``; 60,000 train, 10,000 test) with ``configs/fashion-mnist.yaml``,
  next to the named dataset;
- ``iris``, ``wine``, ``breast_cancer``: scikit-learn's datasets written as CSV with the
  class names as a string label column, split 80/20 (stratified, ``random_state=0``) into
  train.csv and test.csv; mlpnet trains with its default config, and scikit-learn's
  ``make_pipeline(StandardScaler(), MLPClassifier(random_state=0))`` on the same split.

Usage::

    python scripts/csv_results.py [--only digits,fashion,iris,wine,breast_cancer] [--set KEY=VALUE ...] [--markdown]

``--set`` passes overrides to every ``mlpnet train`` run of the scikit-learn tables.
"""

from __future__ import annotations

import argparse
import json
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

FASHION = Path("/usr/share/datasets/fashion-mnist")


def train(args: list[str], out: Path) -> dict:
    """Run ``mlpnet train ARGS -o OUT``; return its test metrics and wall time."""
    cmd = [sys.executable, "-m", "mlpnet", "train", *args, "-o", str(out), "--no-progress"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"mlpnet train {' '.join(args)} failed:\n{proc.stderr}")
    info = json.loads(subprocess.run([sys.executable, "-m", "mlpnet", "info", str(out / "best.npz"), "--json"],
                                     capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note:")]
    return {"accuracy": info["test"]["accuracy"], "n_test": info["test"]["n"], "seconds": time.perf_counter() - t0,
            "notes": notes}


def write_pixels(path: Path, x: np.ndarray, y: np.ndarray | None, first: int) -> Path:
    """Kaggle's layout: ``label,pixel<first>..``, one image per row."""
    x = x.reshape(len(x), -1).astype(np.int64)
    table = x if y is None else np.concatenate([y[:, None].astype(np.int64), x], axis=1)
    with open(path, "w") as f:
        f.write(",".join((["label"] if y is not None else []) + [f"pixel{i + first}" for i in range(784)]) + "\n")
        np.savetxt(f, table, fmt="%d", delimiter=",")
    return path


def digits(tmp: Path) -> list[dict]:
    src = imagestyles.mnist_dir()
    if src is None:
        raise SystemExit("real MNIST digits not found: set MLPNET_TEST_MNIST")
    x, y = read_idx_pair(src / "t10k-images-idx3-ubyte.gz", src / "t10k-labels-idx1-ubyte.gz")
    idx = tmp / "digits-idx"
    idx.mkdir()
    for name, arr in (("train-images-idx3-ubyte.gz", x[:8000]), ("train-labels-idx1-ubyte.gz", y[:8000]),
                      ("t10k-images-idx3-ubyte.gz", x[8000:]), ("t10k-labels-idx1-ubyte.gz", y[8000:])):
        write_idx(idx / name, arr)
    tr = write_pixels(tmp / "digits-train.csv", x[:8000], y[:8000], first=0)
    te = write_pixels(tmp / "digits-test.csv", x[8000:], y[8000:], first=0)
    a = train(["--set", "data.dataset=idx", "--set", f"data.path={idx}"], tmp / "run-digits-idx")
    b = train(["--set", "data.dataset=csv", "--set", f"data.path={tr}", "--set", f"data.test_path={te}"],
              tmp / "run-digits-csv")
    return [dict(a, label="real digits as an `idx` folder (7,200 train, 800 validation, 2,000 test)"),
            dict(b, label="the same digits as Kaggle digit-recognizer CSVs (`label,pixel0..pixel783`)")]


def fashion(tmp: Path) -> list[dict]:
    x, y = read_idx_pair(FASHION / "train-images-idx3-ubyte.gz", FASHION / "train-labels-idx1-ubyte.gz")
    xt, yt = read_idx_pair(FASHION / "t10k-images-idx3-ubyte.gz", FASHION / "t10k-labels-idx1-ubyte.gz")
    tr = write_pixels(tmp / "fashion-mnist_train.csv", x, y, first=1)
    te = write_pixels(tmp / "fashion-mnist_test.csv", xt, yt, first=1)
    cfg = ["-c", "configs/fashion-mnist.yaml"]
    a = train(cfg, tmp / "run-fashion-idx")
    b = train([*cfg, "--set", "data.dataset=csv", "--set", f"data.path={tr}", "--set", f"data.test_path={te}"],
              tmp / "run-fashion-csv")
    return [dict(a, label="Fashion-MNIST, named dataset, `-c configs/fashion-mnist.yaml`"),
            dict(b, label="the same as Kaggle's CSVs (`label,pixel1..pixel784`, 60,000 + 10,000 rows)")]


def sklearn_table(name: str, tmp: Path, extra: list[str]) -> list[dict]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    d = getattr(datasets, f"load_{name}")()
    labels = np.asarray(d.target_names)[d.target]
    x_tr, x_te, y_tr, y_te = train_test_split(d.data, labels, test_size=0.2, stratify=labels, random_state=0)
    cols = [c.replace(" ", "_").replace("(", "").replace(")", "") for c in d.feature_names]

    def write(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
        with open(path, "w") as f:
            f.write(",".join([*cols, "class"]) + "\n")
            for row, label in zip(x, y):
                f.write(",".join(repr(float(v)) for v in row) + f",{label}\n")
        return path

    tr, te = write(tmp / f"{name}-train.csv", x_tr, y_tr), write(tmp / f"{name}-test.csv", x_te, y_te)
    got = train(["--set", "data.dataset=csv", "--set", f"data.path={tr}", "--set", f"data.test_path={te}",
                 "--set", "data.label_column=class", *extra], tmp / f"run-{name}")
    t0 = time.perf_counter()
    clf = make_pipeline(StandardScaler(), MLPClassifier(random_state=0, max_iter=1000)).fit(x_tr, y_tr)
    sk = float(clf.score(x_te, y_te))
    how = f", `{' '.join(extra[1::2])}`" if extra else ""
    return [dict(got, label=f"{name}{how} ({len(x_tr)} train incl. validation, {len(x_te)} test, "
                            f"{len(cols)} features, {len(d.target_names)} classes)",
                 sklearn=sk, sklearn_seconds=time.perf_counter() - t0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="digits,fashion,iris,wine,breast_cancer")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    extra = [a for kv in args.overrides for a in ("--set", kv)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for what in args.only.split(","):
            if what == "digits":
                rows += digits(Path(tmp))
            elif what == "fashion":
                rows += fashion(Path(tmp))
            else:
                rows += sklearn_table(what, Path(tmp), extra)
            print(json.dumps(rows[-1]), file=sys.stderr)
    if args.markdown:
        print("| data | mlpnet test accuracy | scikit-learn MLP | wall time |")
        print("|---|---:|---:|---:|")
        for r in rows:
            sk = f"{r['sklearn']:.4f}" if "sklearn" in r else "—"
            print(f"| {r['label']} | {r['accuracy']:.4f} | {sk} | {r['seconds']:.0f} s |")
    else:
        for r in rows:
            sk = f"  scikit-learn {r['sklearn']:.4f}" if "sklearn" in r else ""
            print(f"{r['accuracy']:.4f}{sk}  {r['seconds']:6.1f} s  {r['label']}")
            for n in r["notes"]:
                print(f"        {n}")


if __name__ == "__main__":
    main()
