"""A regression CSV through the CLI against scikit-learn (issue 20): R^2 on the same split.

For ``make_friedman1`` (2000 rows, noise 1) and ``load_diabetes`` (442 rows), the rows are
split once (80/20, seed 0) and written to ``train.csv`` and ``test.csv``; then

* mlpnet:       ``mlpnet train --set data.path=train.csv --set data.test_path=test.csv
                --set data.label_column=target --set task=regression`` (every other key at its
                default; the task is set because diabetes' targets are whole numbers, which
                ``task: auto`` reads as classes), then ``mlpnet evaluate --json``;
* scikit-learn: ``StandardScaler`` on X and y + ``MLPRegressor`` with its defaults
                (``max_iter=1000`` so that it converges), fitted on all of train.csv.

Both are scored by R^2 on test.csv. ``--seeds`` repeats both with other seeds (mlpnet's
``seed``, scikit-learn's ``random_state``) and prints the mean.

Usage: python scripts/cli_regression_vs_sklearn.py [--seeds 3] [--out DIR]
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

REPO = Path(__file__).resolve().parent.parent


def datasets():
    from sklearn.datasets import load_diabetes, make_friedman1

    x, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    yield "friedman1", x, y
    d = load_diabetes()
    yield "diabetes", d.data, d.target


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    head = ",".join([f"x{i}" for i in range(x.shape[1])] + ["target"])
    np.savetxt(path, np.c_[x, y], delimiter=",", header=head, comments="", fmt="%.10g")


def mlpnet_r2(folder: Path, seed: int) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = folder / f"run-{seed}"
    cmd = [sys.executable, "-m", "mlpnet", "train", "--set", f"data.path={folder / 'train.csv'}",
           "--set", f"data.test_path={folder / 'test.csv'}", "--set", "data.label_column=target",
           "--set", "task=regression", "--set", f"seed={seed}", "-o", str(run), "--overwrite"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"mlpnet train failed:\n{done.stderr}")
    ev = subprocess.run([sys.executable, "-m", "mlpnet", "evaluate", "--model", str(run / "best.npz"), "--json"],
                        capture_output=True, text=True, env=env)
    if ev.returncode:
        raise SystemExit(f"mlpnet evaluate failed:\n{ev.stderr}")
    return json.loads(ev.stdout)["r2"], seconds


def sklearn_r2(xtr, ytr, xte, yte, seed: int) -> tuple[float, float]:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.metrics import r2_score
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), MLPRegressor(max_iter=1000, random_state=seed)),
        transformer=StandardScaler()).fit(xtr, ytr)
    return float(r2_score(yte, model.predict(xte))), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="keep the CSV files and runs here")
    args = ap.parse_args()
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    base = args.out or Path(tempfile.mkdtemp(prefix="mlpnet-reg-"))
    print(f"# load: {os.getloadavg()[0]:.2f} (1-min average; timings are under this load)")
    print(f"{'dataset':<10} {'rows':>5} {'seed':>4} {'mlpnet r2':>10} {'sklearn r2':>10} {'diff':>7} "
          f"{'mlpnet s':>8} {'sklearn s':>9}")
    for name, x, y in datasets():
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, random_state=0)
        folder = base / name
        folder.mkdir(parents=True, exist_ok=True)
        write_csv(folder / "train.csv", xtr, ytr)
        write_csv(folder / "test.csv", xte, yte)
        ours, theirs = [], []
        for seed in range(args.seeds):
            a, ta = mlpnet_r2(folder, seed)
            b, tb = sklearn_r2(xtr, ytr, xte, yte, seed)
            ours.append(a)
            theirs.append(b)
            print(f"{name:<10} {len(x):>5} {seed:>4} {a:>10.4f} {b:>10.4f} {a - b:>+7.4f} {ta:>8.1f} {tb:>9.1f}")
        print(f"{name:<10} {'mean':>10} {np.mean(ours):>10.4f} {np.mean(theirs):>10.4f} "
              f"{np.mean(ours) - np.mean(theirs):>+7.4f}")


if __name__ == "__main__":
    main()
