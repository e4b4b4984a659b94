"""The Fashion-MNIST trials behind the table "What earned its place" in docs/guide/results.md.

Each trial is ``mlpnet train -c configs/fashion-mnist.yaml --set train.threads=1 --set ...``
(the real command line, through ``results.run``), two at a time on a 2-core machine, and
the table gives the best validation accuracy and the test accuracy and loss of that epoch.
All of them take about two hours; ``--only`` picks trials by number (as the table lists
them, from 1).

Usage::

    python scripts/fashion_trials.py --markdown               # every trial
    python scripts/fashion_trials.py --only 1,4 --markdown    # the shipped config and seed 1
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from results import run  # scripts/results.py, beside this file

MIRROR, SHIFT1 = "data.augment.hflip=true", "data.augment.shift=1"
ROTATE = ("data.augment.rotate=8", "data.augment.scale=0.08")
OLD = ("model.dropout=0.3", "optimizer.weight_decay=0.0001")  # the config before this table

TRIALS: list[tuple[str, tuple[str, ...]]] = [
    ("**batch 256, dropout 0.2, weight decay 0.05 (shipped)**", ()),
    ("batch 256, dropout 0.3, weight decay 1e-4", OLD),
    ("the same, lr 2e-3", (*OLD, "optimizer.lr=0.002")),
    ("batch 256, dropout 0.2, weight decay 1e-4", ("optimizer.weight_decay=0.0001",)),
    ("the shipped config, seed 1", ("seed=1",)),
    ("shipped + mirror", (MIRROR,)),
    ("shipped + shift of 1 pixel", (SHIFT1,)),
    ("shipped + rotation 8° and scaling 0.08 (nearest)", ROTATE),
    ("shipped, no dropout, + mirror", ("model.dropout=0.0", MIRROR)),
    ("shipped, no dropout, + shift of 1 pixel", ("model.dropout=0.0", SHIFT1)),
    ("shipped, dropout 0.1, + rotation 8° and scaling 0.08 (nearest)", ("model.dropout=0.1", *ROTATE)),
    ("shipped + mirror + label smoothing 0.1", (MIRROR, "label_smoothing=0.1")),
    ("shipped + mirror, dropout 0.1", (MIRROR, "model.dropout=0.1")),
    ("shipped + mirror, dropout 0.1, weight decay 0.1", (MIRROR, "model.dropout=0.1", "optimizer.weight_decay=0.1")),
    ("dropout 0.2 + mirror, weight decay 1e-4", (MIRROR, "optimizer.weight_decay=0.0001")),
    ("the same, trained on all 60,000 images (`data.val_size=0`)",
     (MIRROR, "optimizer.weight_decay=0.0001", "data.val_size=0")),
    ("dropout 0.1 + mirror, weight decay 1e-4", (MIRROR, "model.dropout=0.1", "optimizer.weight_decay=0.0001")),
    ("dropout 0.1 + mirror + shift 1, weight decay 1e-4",
     (MIRROR, SHIFT1, "model.dropout=0.1", "optimizer.weight_decay=0.0001")),
    ("dropout 0.3 + mirror, weight decay 1e-4", (*OLD, MIRROR)),
    ("the same, lr 2e-3", (*OLD, MIRROR, "optimizer.lr=0.002")),
    ("SGD, Nesterov momentum 0.9, lr 0.05, L2 5e-4, dropout 0.2 + mirror",
     (MIRROR, "optimizer.name=sgd", "optimizer.lr=0.05", "optimizer.momentum=0.9", "optimizer.nesterov=true",
      "optimizer.weight_decay=0.0005")),
    ("shipped, 80 epochs", ("train.epochs=80",)),
    ("dropout 0.3 + mirror, 80 epochs", ("model.dropout=0.3", MIRROR, "train.epochs=80")),
    ("shipped, 784-1024-512-10, dropout 0.3", ("model.hidden=[1024,512]", "model.dropout=0.3")),
    ("shipped, 784-512-512-256-10, 35 epochs", ("model.hidden=[512,512,256]", "train.epochs=35")),
    ("784-1024-512-10, dropout 0.3, weight decay 1e-4, 30 epochs", (*OLD, "model.hidden=[1024,512]", "train.epochs=30")),
    ("784-1024-256-10, dropout 0.3, weight decay 1e-4, 35 epochs", (*OLD, "model.hidden=[1024,256]", "train.epochs=35")),
    ("784-1024-256-10, dropout 0.2 + mirror, weight decay 0.05, 30 epochs",
     (MIRROR, "model.hidden=[1024,256]", "train.epochs=30")),
    ("batch 512, lr 2e-3, 70 epochs, dropout 0.2 + mirror, weight decay 0.05",
     (MIRROR, "train.batch_size=512", "optimizer.lr=0.002", "train.epochs=70")),
    ("shipped, leaky ReLU", ("model.activation=leaky_relu",)),
    ("shipped, Adam beta2 0.99, lr 2e-3", ("optimizer.beta2=0.99", "optimizer.lr=0.002")),
]


def trial(number: int, tmp: Path) -> dict:
    label, overrides = TRIALS[number - 1]
    args = ["-c", "configs/fashion-mnist.yaml", "--set", "train.threads=1"]
    args += [a for o in overrides for a in ("--set", o)]
    return run(f"{number}. {label}", args, tmp / f"trial{number}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated trial numbers (default: all)")
    ap.add_argument("--jobs", type=int, default=2, help="trials at a time (default 2, one per core)")
    ap.add_argument("--markdown", action="store_true", help="print the table of docs/guide/results.md")
    args = ap.parse_args()
    numbers = [int(n) for n in args.only.split(",")] if args.only else list(range(1, len(TRIALS) + 1))
    if bad := [n for n in numbers if not 1 <= n <= len(TRIALS)]:
        ap.error(f"--only: no trial {bad[0]}; they are numbered 1 to {len(TRIALS)}")
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda n: trial(n, Path(tmp)), numbers))
    for r in rows:
        print(f"{r['label']}: best val {r['val_accuracy'] or 0:.4f}, test {r['test_accuracy']:.4f} "
              f"(loss {r['test_loss']:.4f}), {r['seconds']:.0f} s; {r['command']}")
    if args.markdown:
        print("\n| change (784-512-256-10, AdamW lr 1e-3, warmup + cosine, 50 epochs) | best val | test | test loss |")
        print("|---|---:|---:|---:|")
        for r in rows:
            val = f"{r['val_accuracy']:.3f}" if r["val_accuracy"] is not None else "—"
            print(f"| {r['label']} | {val} | {r['test_accuracy']:.3f} | {r['test_loss']:.3f} |")


if __name__ == "__main__":
    main()
