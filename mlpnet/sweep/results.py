"""What a sweep leaves behind: per-trial records, results.csv, best.yaml, sweep.png, the ranked table.

Each trial's outcome is ``DIR/trial-NNN/trial.json``, written atomically when the trial
ends; everything else in ``DIR`` is rebuilt from those records, so an interrupted sweep
loses nothing that finished.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import plots
from ..config import Config
from ..fileio import json_text, write_text
from .spec import SweepSpec, trial_config

STATUSES = ("ok", "pruned", "failed", "pending")
DONE = ("ok", "pruned")
"""Statuses a rerun does not run again."""


@dataclass
class TrialResult:
    """The outcome of one trial (``status`` ok, pruned or failed; pending before it ran)."""

    trial: int
    params: dict[str, Any]
    status: str = "pending"
    metric: float | None = None
    seconds: float | None = None
    epochs: int | None = None
    best_epoch: int | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def trial_dir(out: Path, i: int) -> Path:
    """``DIR/trial-NNN`` (numbered from 1)."""
    return out / f"trial-{i:03d}"


def read_record(out: Path, i: int) -> TrialResult | None:
    """The stored outcome of trial ``i``, or None if it has not finished."""
    path = trial_dir(out, i) / "trial.json"
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return TrialResult(**d)
    except (OSError, ValueError, TypeError):
        return None


def write_record(out: Path, r: TrialResult) -> None:
    d = trial_dir(out, r.trial)
    d.mkdir(parents=True, exist_ok=True)
    write_text(d / "trial.json", json_text(r.to_dict(), indent=1) + "\n")  # strict: a NaN metric is null


def ranked(results: list[TrialResult], maximize: bool) -> list[TrialResult]:
    """Finished trials best first, then failed ones, then pending ones (each in trial order)."""
    ok = [r for r in results if r.status == "ok" and r.metric is not None and not math.isnan(r.metric)]
    ok.sort(key=lambda r: (-r.metric if maximize else r.metric, r.trial))
    rest = [r for r in results if r not in ok]
    rest.sort(key=lambda r: (STATUSES.index(r.status) if r.status in STATUSES else 3, r.trial))
    return ok + rest


def write_csv(path: Path, spec: SweepSpec, results: list[TrialResult]) -> None:
    """``results.csv``: one row per trial, in trial order."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["trial", *spec.keys, spec.metric, "status", "seconds", "error"])
    for r in sorted(results, key=lambda r: r.trial):
        w.writerow([r.trial, *(_cell(r.params.get(k)) for k in spec.keys),
                    "" if r.metric is None else f"{r.metric:.6g}", r.status,
                    "" if r.seconds is None else f"{r.seconds:.2f}", r.error or ""])
    write_text(path, buf.getvalue())


def write_best(path: Path, base: Config, best: TrialResult) -> Config:
    """``best.yaml``: the full config of the best trial, ready for ``mlpnet train -c``."""
    cfg = trial_config(base, best.params)
    write_text(path, f"# best trial of the sweep: trial {best.trial:03d}\n" + cfg.to_yaml())
    return cfg


def table(spec: SweepSpec, results: list[TrialResult], limit: int | None = None) -> str:
    """The ranked table printed at the end of a sweep."""
    rows = ranked(results, spec.maximize)
    if limit is not None:
        rows = rows[:limit]
    head = ["rank", "trial", *spec.keys, spec.metric, "status", "seconds"]
    body = []
    for n, r in enumerate(rows, 1):
        body.append([str(n) if r.status == "ok" else "-", f"{r.trial:03d}",
                     *(_cell(r.params.get(k)) for k in spec.keys),
                     "" if r.metric is None else f"{r.metric:.4f}",
                     r.status if r.status != "failed" else f"failed: {r.error or ''}"[:60],
                     "" if r.seconds is None else f"{r.seconds:.1f}"])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)).rstrip() for b in body]
    return "\n".join(lines)


def plot(path: Path, spec: SweepSpec, results: list[TrialResult]) -> Path:
    """``sweep.png``: the metric against each parameter, one panel per parameter.

    Raises ``plots.PlotUnavailable`` without matplotlib.
    """
    Figure, _ = plots._matplotlib()
    done = [r for r in results if r.status == "ok" and r.metric is not None]
    n = len(spec.parameters)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.2 * cols, 3.4 * rows))
    y = [r.metric for r in done]
    for i, p in enumerate(spec.parameters):
        ax = fig.add_subplot(rows, cols, i + 1)
        xs = [r.params.get(p.key) for r in done]
        if p.values is not None and not all(_is_number(v) for v in p.values):
            labels = [_cell(v) for v in p.values]
            pos = [labels.index(_cell(v)) for v in xs]
            ax.scatter(pos, y, s=22)
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=20, fontsize=8)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        else:
            ax.scatter(xs, y, s=22)
            if p.log_scale:
                from matplotlib.ticker import NullFormatter

                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short decade overlap
        ax.set_xlabel(p.key)
        ax.set_ylabel(spec.metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f"sweep {spec.name}: {len(done)} finished trial(s)")
    fig.tight_layout()
    return plots._save(fig, path)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict, bool)):
        return json.dumps(v)
    return str(v)
