"""Running a sweep's trials on Dask distributed: a LocalCluster, or a scheduler already running.

The driver (this process) owns the sweep folder's bookkeeping; each trial runs on a
worker as an ordinary training run in ``DIR/trial-NNN``. A trial's outcome is written as
soon as it arrives, so Ctrl-C or a crash loses only the trials still running, and a rerun
of the same command picks up from there.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..config import Config, apply_overrides, from_dict
from ..metrics import higher_is_better
from ..errors import MlpnetError
from ..fileio import write_text
from . import results as res
from .spec import SweepSpec, trial_config

EXTRA_HINT = 'the sweep command needs Dask distributed; pip install "mlpnet[sweep]"'


class SweepError(MlpnetError):
    """The sweep cannot run (no Dask, an unreachable scheduler, a folder holding another sweep)."""


class SweepInterrupted(MlpnetError):
    """Ctrl-C: finished trials are kept; the message says how to go on."""

    exit_code = 130


@dataclass
class SweepOutcome:
    out: Path
    results: list[res.TrialResult]
    ran: int
    """How many trials this invocation ran (the others had finished before)."""
    best: res.TrialResult | None
    seconds: float
    notes: list[str]


FINISHED = "finished"
"""A trial's mark, written by its worker when it finished with a finite metric (what the median rule reads)."""
MIN_PEERS = 3
"""Finished trials the median rule needs before it stops anything."""


class _Pruned(Exception):
    """Raised by the median rule between epochs: the trial stops, its run directory as saved."""


def run_trial(cfg_dict: dict, out_dir: str, trial: int, prune: str = "none") -> dict:
    """Train one trial on a Dask worker; never raises for a failed run (the failure is the result).

    Returns a mapping with ``status`` (ok, pruned or failed), ``metric``, ``seconds``,
    ``epochs``, ``best_epoch`` and ``error`` (one line).
    """
    from ..train.loop import fit  # the training stack is imported on the worker
    from ..train.report import Reporter

    class MedianRule:
        """An epoch callback: compare the best so far with finished trials' best after as many epochs."""

        def __init__(self):
            self.best = math.nan
            self.rows = 0

        def __call__(self, run, row: dict) -> None:
            self.rows += 1
            v = row[monitor]
            if not math.isnan(v) and (math.isnan(self.best) or (v > self.best if maximize else v < self.best)):
                self.best = v
            if row["epoch"] >= run.cfg.train.epochs:
                return
            peers = _peer_bests(out.parent, trial, monitor, maximize, row["epoch"])
            if len(peers) >= MIN_PEERS:
                median = float(np.median(peers))
                if math.isnan(self.best) or (self.best < median if maximize else self.best > median):
                    raise _Pruned(f"pruned after epoch {row['epoch']}: best {monitor} {self.best:.4f} is worse "
                                  f"than the median {median:.4f} of {len(peers)} finished trials")

    t0 = time.perf_counter()
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)  # an unfinished trial of an interrupted sweep: start it over
    out.mkdir(parents=True)
    with open(out / "train.log", "w", encoding="utf-8") as log:
        def echo(line: str) -> None:
            print(line, file=log, flush=True)

        try:
            cfg = from_dict(cfg_dict, f"trial {trial}")
            monitor, maximize = cfg.train.monitor, higher_is_better(cfg.train.monitor)
            rule = MedianRule()
            r = fit(cfg, out, reporter=Reporter(echo), callbacks=[rule] if prune == "median" else [])
        except _Pruned as why:
            echo(str(why))
            return {"status": "pruned", "metric": rule.best, "seconds": time.perf_counter() - t0,
                    "epochs": rule.rows, "error": str(why)}
        except MlpnetError as err:
            msg = str(err).replace("\n", " ")
            echo(f"error: {msg}")
            return {"status": "failed", "error": msg, "seconds": time.perf_counter() - t0}
        except Exception as err:  # a bug in a trial must not end the others
            msg = f"internal error: {type(err).__name__}: {err}".replace("\n", " ")
            echo(msg)
            return {"status": "failed", "error": msg, "seconds": time.perf_counter() - t0}
    value = float(r.best_value)
    if math.isfinite(value):
        # Written here, on the worker, before the task returns: the median rule of the next trial,
        # which may start at once, must see this one finished (the client records it later).
        write_text(out / FINISHED, "ok\n")
    return {"status": "ok" if math.isfinite(value) else "failed", "metric": value,
            "seconds": time.perf_counter() - t0, "epochs": r.epochs, "best_epoch": r.best_epoch,
            "error": None if math.isfinite(value) else f"{r.monitor} was never finite"}


def _peer_bests(root: Path, trial: int, monitor: str, maximize: bool, epoch: int) -> list[float]:
    """Best ``monitor`` within the first ``epoch`` epochs of every other trial that finished (status ok)."""
    out = []
    for done in root.glob(f"trial-*/{FINISHED}"):
        if done.parent == res.trial_dir(root, trial):
            continue
        try:
            with open(done.parent / "metrics.csv", encoding="utf-8") as f:
                values = [float(row[monitor]) for row in csv.DictReader(f)
                          if int(row["epoch"]) <= epoch and row[monitor] != ""]
        except (OSError, ValueError, KeyError):
            continue
        if values:
            out.append(max(values) if maximize else min(values))
    return out


def run_sweep(spec: SweepSpec, base: Config, out: str | Path, *, scheduler: str | None = None,
              workers: int | None = None, echo: Callable[[str], None] = print) -> SweepOutcome:
    """Run every trial of ``spec`` not finished in ``out`` and write the sweep's summary files.

    Parameters
    ----------
    spec : SweepSpec
        Validated against ``base`` (``spec.load``).
    base : Config
        The config every trial starts from; ``train.monitor`` is set to the sweep metric.
    out : path
        The sweep folder; trials go to ``out/trial-NNN``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must see ``out``.
        Without it a LocalCluster with ``workers`` single-threaded processes (default: one per core).
    """
    t_start = time.perf_counter()
    base = apply_overrides(base, [f"train.monitor={spec.metric}"])
    out = Path(out).resolve()
    _claim(out, spec, base)
    all_params = spec.trial_params()
    results: list[res.TrialResult] = []
    for i, params in enumerate(all_params, 1):
        rec = res.read_record(out, i)
        results.append(rec if rec is not None and rec.status in res.DONE else res.TrialResult(i, params))
    todo = [r for r in results if r.status not in res.DONE]
    done = len(results) - len(todo)
    if done == len(results):
        echo(f"all {done} trials already finished in {out}")
    elif done:
        echo(f"{done} of {len(results)} trials already finished in {out}; running the other {len(todo)}")
    notes: list[str] = []
    if todo:
        _run_on_dask(spec, base, out, todo, results, scheduler, workers, echo)
    notes += _summarise(out, spec, base, results)
    best = next((r for r in res.ranked(results, spec.maximize) if r.status == "ok"), None)
    return SweepOutcome(out, results, len(todo), best, time.perf_counter() - t_start, notes)


def _run_on_dask(spec, base, out, todo, results, scheduler, workers, echo) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError(EXTRA_HINT) from None
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as err:
                raise SweepError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({err})") from None
            n = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
            echo(f"sweep {spec.name}: {len(todo)} trial(s) on the Dask scheduler at {scheduler} "
                 f"({n} worker thread(s))")
        else:
            n = workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
            client = Client(cluster)
            echo(f"sweep {spec.name}: {len(todo)} trial(s) on a local Dask cluster of {n} single-threaded "
                 "worker process(es)")
    except MlpnetError:
        raise
    except Exception as err:
        raise SweepError(f"cannot start Dask: {type(err).__name__}: {err}") from None

    futures = {}
    try:
        for r in todo:
            cfg = apply_overrides(trial_config(base, r.params), ["train.threads=1"])
            fut = client.submit(run_trial, cfg.to_dict(), str(res.trial_dir(out, r.trial)), r.trial, spec.prune,
                                key=f"mlpnet-sweep-{spec.name}-trial-{r.trial:03d}-{os.getpid()}-{time.time_ns()}",
                                pure=False, retries=0)
            futures[fut] = r
        width = len(str(len(results)))
        for fut in as_completed(list(futures)):
            r = futures[fut]
            try:
                d = fut.result()
            except Exception as err:  # the worker died, or could not import mlpnet
                d = {"status": "failed", "error": f"{type(err).__name__}: {err}".replace("\n", " ")}
            r.status, r.error = d["status"], d.get("error")
            r.metric, r.seconds = d.get("metric"), d.get("seconds")
            r.epochs, r.best_epoch = d.get("epochs"), d.get("best_epoch")
            res.write_record(out, r)
            res.write_csv(out / "results.csv", spec, results)
            if r.status == "ok":
                echo(f"trial {r.trial:0{width}d}/{len(results)} ok  {spec.metric} {r.metric:.4f}  ({r.seconds:.1f}s)")
            elif r.status == "pruned":
                echo(f"trial {r.trial:0{width}d}/{len(results)} {r.error}")
            else:
                echo(f"trial {r.trial:0{width}d}/{len(results)} failed: {r.error}")
    except KeyboardInterrupt:
        finished = sum(r.status in res.DONE for r in results)
        try:
            client.cancel(list(futures))
        except Exception:
            pass
        _close(client, cluster)
        res.write_csv(out / "results.csv", spec, results)
        raise SweepInterrupted(f"interrupted; {finished} finished trial(s) are kept in {out}; rerun the same "
                               "command to run the rest") from None
    _close(client, cluster)


def _close(client, cluster) -> None:
    try:
        client.close()
        if cluster is not None:
            cluster.close()
    except Exception:
        pass


def _summarise(out: Path, spec: SweepSpec, base: Config, results) -> list[str]:
    notes = []
    res.write_csv(out / "results.csv", spec, results)
    best = next((r for r in res.ranked(results, spec.maximize) if r.status == "ok"), None)
    if best is not None:
        res.write_best(out / "best.yaml", base, best)
    else:
        notes.append("no trial finished, so best.yaml is not written")
    try:
        res.plot(out / "sweep.png", spec, results)
    except res.plots.PlotUnavailable as err:
        notes.append(f"{err} (sweep.png not written)")
    return notes


def _claim(out: Path, spec: SweepSpec, base: Config) -> None:
    """Record the sweep in ``out/sweep.yaml``, or check that the one recorded there is the same."""
    ident = _identity(spec, base)
    path = out / "sweep.yaml"
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            old = {"spec": stored["spec"], "base": stored["base"]}
        except (OSError, ValueError, KeyError, TypeError):
            raise SweepError(f"{path}: unreadable sweep record; remove the folder or choose another -o/--output") from None
        if old != ident:
            where = _first_difference(old, ident) or "?"
            raise SweepError(f"{path}: this folder holds a different sweep ({where} differs); "
                             "rerun with the same sweep file and config, or choose another -o/--output")
    out.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: the file stays readable and parses back exactly.
    write_text(path, json.dumps({**ident, "trials": spec.trials}, indent=1) + "\n")


def _identity(spec: SweepSpec, base: Config) -> dict:
    d = spec.to_dict()
    if spec.method == "random":
        d.pop("trials")  # trial i is drawn from (seed, i) alone
    d.pop("name")
    # round trip through JSON so stored and fresh values compare equal (tuples become lists)
    return json.loads(json.dumps({"spec": d, "base": base.to_dict()}))


def _first_difference(a: Any, b: Any, prefix: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{prefix}{k}"
            d = _first_difference(a[k], b[k], f"{prefix}{k}.")
            if d:
                return d
        return None
    return None if a == b else prefix.rstrip(".")
