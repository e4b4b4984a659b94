"""What a run tells the person watching: progress bars, one line per epoch, machine-readable logs."""

from __future__ import annotations

import csv
import io
import math
import sys
from typing import Callable

from ..fileio import json_text

METRIC_FIELDS = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
MAX_LINES = 100
"""Runs of more epochs print an epoch line only every ``epochs // MAX_LINES`` epochs (and on
improvements); metrics.csv and the logs still get every epoch."""


class Reporter:
    """Sends human-readable lines to ``echo`` and, with ``log_format``, one record per epoch to ``stream``.

    Parameters
    ----------
    echo : callable
        Receives one human-readable line at a time (stderr in the CLI).
    progress : bool
        Show a tqdm bar during each epoch.
    log_format : {"jsonl", "csv"} or None
        Also write one machine-readable line per epoch, and (jsonl) a final test record.
    stream : file, optional
        Where the records go (stdout by default).
    """

    def __init__(self, echo: Callable[[str], None] = print, progress: bool = False,
                 log_format: str | None = None, stream=None):
        self.echo, self.progress, self.log_format = echo, progress, log_format
        self.stream = stream
        self._rows = 0

    def bar(self, total: int, desc: str):
        """A tqdm bar for one epoch, or None without progress."""
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        # A fixed, compact layout that fits 80 columns with the running loss and accuracy.
        return tqdm(total=total, desc=desc, unit="batch", leave=False, mininterval=0.2, file=sys.stderr,
                    bar_format="{desc} {percentage:3.0f}%|{bar:16}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")

    def epoch(self, row: dict, epochs: int, improved: bool) -> None:
        """Report a finished epoch: its line (thinned out on very long runs) and its log record."""
        every = max(1, epochs // MAX_LINES)
        if improved or row["epoch"] % every == 0 or row["epoch"] in (1, epochs):
            self.echo(epoch_line(row, epochs, improved))
        if self.log_format:
            self._write(row)

    def test(self, test: dict) -> None:
        """The final record of a run: the best epoch's test metrics (jsonl only; csv rows are epochs)."""
        if self.log_format == "jsonl":
            self._out().write(json_text({"event": "test", **test}) + "\n")
            self._out().flush()

    def _write(self, row: dict) -> None:
        out = self._out()
        if self.log_format == "jsonl":
            out.write(json_text(row) + "\n")
        else:
            text = metrics_csv([row])
            out.write(text if self._rows == 0 else text.split("\n", 1)[1])
        self._rows += 1
        out.flush()

    def _out(self):
        return self.stream or sys.stdout


def epoch_line(row: dict, epochs: int, improved: bool) -> str:
    """One line per epoch, under 80 columns (the learning rate is in metrics.csv)."""
    width = len(str(epochs))
    parts = [f"epoch {row['epoch']:>{width}}/{epochs}", f"train loss {row['train_loss']:.4f}"
             + (f" acc {row['train_accuracy']:.2%}" if not math.isnan(row["train_accuracy"]) else "")]
    if not math.isnan(row["val_loss"]):
        score = f"r2 {row['val_r2']:.4f}" if "val_r2" in row else f"acc {row['val_accuracy']:.2%}"
        parts.append(f"val loss {row['val_loss']:.4f} {score}")
    parts.append(f"{row['seconds']:.1f}s{' *' if improved else ''}")
    return "  ".join(parts)


def metrics_csv(rows: list[dict]) -> str:
    """``metrics.csv``: a header and one row per epoch."""
    buf = io.StringIO()
    fields = list(METRIC_FIELDS)
    if any("val_r2" in r for r in rows):  # a regression run
        fields[fields.index("val_accuracy") + 1:fields.index("val_accuracy") + 1] = ["val_r2"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k)) for k in fields})
    return buf.getvalue()


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def diverged_message(what: str, epoch: int, batch: int, total: int, last, held_epoch: int, lr: float) -> str:
    kept = f"the last good checkpoint ({last}, epoch {held_epoch}) is kept" if held_epoch else "nothing was saved"
    return (f"training diverged: {what} at epoch {epoch}, batch {batch}/{total}; {kept}; "
            f"try a lower optimizer.lr (it was {lr:.3g})")
