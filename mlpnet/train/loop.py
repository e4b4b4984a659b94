"""The training loop: batches, validation, checkpoints, metrics, resume and failure handling.

Files in a run directory, each replaced atomically at the end of every epoch:
``config.yaml`` (resolved config), ``metrics.csv`` (one row per epoch), ``last.npz``
(everything needed to resume) and ``best.npz`` (the best epoch by ``train.monitor``).
Nothing is written before the first epoch finishes, so a run that fails early leaves an
existing directory untouched.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__, checkpoint, data, losses, optim, plots, schedules
from .config import Config, apply_overrides, from_dict
from .errors import CheckpointError, MlpnetError, TrainingError
from .evaluate import loss_and_accuracy
from .fileio import atomic_write, write_text
from .model import MLP, Architecture

METRIC_FIELDS = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "seconds"]
RESUMABLE_KEYS = ("train.epochs", "train.early_stopping", "train.threads", "data.path", "data.download")
MODEL_FILES = ("last.npz", "best.npz")


class Interrupted(MlpnetError):
    """Training was stopped with Ctrl-C; the message says how to resume."""

    exit_code = 130


@dataclass
class RunResult:
    """What a finished (or early-stopped) run produced."""

    out_dir: Path
    epochs: int
    best_epoch: int
    best_value: float
    monitor: str
    stopped_early: bool
    test: dict | None = None
    history: list[dict] = field(default_factory=list)


@dataclass
class _State:
    """Everything that changes during training and must survive a resume."""

    epoch: int = 0
    step: int = 0
    best_epoch: int = 0
    best_value: float = math.nan
    wait: int = 0
    history: list[dict] = field(default_factory=list)


def build_model(cfg: Config, n_features: int, n_classes: int) -> MLP:
    """The network a config describes, for data of the given width and class count."""
    sizes = (n_features, *cfg.model.hidden, n_classes)
    return MLP(Architecture(sizes, cfg.model.activation, cfg.output, cfg.model.dropout))


def train(cfg: Config, out_dir: str | Path, *, resume: str | Path | None = None, resume_overrides: list[str] = (),
          overwrite: bool = False, progress: bool | None = None, echo: Callable[[str], None] = print,
          log_format: str | None = None, log_stream=None) -> RunResult:
    """Train a model as ``cfg`` says, writing the run directory ``out_dir``.

    Parameters
    ----------
    cfg : Config
        Validated config (ignored when resuming: the checkpoint's own config is used,
        with ``resume_overrides`` applied to the keys in ``RESUMABLE_KEYS``).
    out_dir : path
        Run directory. One that already holds a model is refused unless ``resume``
        continues it or ``overwrite`` is set.
    progress : bool or None
        Show tqdm bars; None means "when stderr is a terminal".
    echo : callable
        Receives human-readable messages (one line each).
    log_format : {"jsonl", "csv"} or None
        Also write one machine-readable line per epoch to ``log_stream`` (stdout).

    Raises
    ------
    Interrupted
        On Ctrl-C, after making sure ``last.npz`` holds the last finished epoch.
    TrainingError
        When the loss or the weights become non-finite; the last good checkpoints stay.
    """
    out_dir = Path(out_dir)
    state = _State()
    ckpt = None
    if resume is not None:
        ckpt = checkpoint.load(resume)
        if "optim" not in {k.split(".")[0] for k in ckpt.arrays} or "rng" not in ckpt.meta:
            raise CheckpointError(f"{resume}: this checkpoint has no training state to resume from; use last.npz")
        cfg = apply_overrides(from_dict(ckpt.meta["config"], f"{resume} (stored config)"), list(resume_overrides),
                              allowed=RESUMABLE_KEYS)
    _check_out_dir(out_dir, resume, overwrite)

    if progress is None:
        progress = sys.stderr.isatty()
    ds = data.load(cfg.data, cfg.seed, progress=progress)
    model = build_model(cfg, ds.n_features, ds.n_classes)
    rng = np.random.default_rng(data.train_seed(cfg.seed))
    model.init(cfg.model.init, rng)
    o = cfg.optimizer
    opt = optim.build(o.name, model.n_params, model.n_weights, dtype=model.dtype, momentum=o.momentum,
                      nesterov=o.nesterov, beta1=o.beta1, beta2=o.beta2, eps=o.eps, weight_decay=o.weight_decay)
    loss = losses.get(cfg.loss)
    steps_per_epoch = math.ceil(len(ds.train) / cfg.train.batch_size)
    s = cfg.schedule
    sched = schedules.build(s.name, o.lr, cfg.train.epochs, steps_per_epoch, warmup=s.warmup_epochs,
                            step_size=s.step_size, gamma=s.gamma, min_lr=s.min_lr)
    if ckpt is not None:
        _restore(ckpt, model, opt, rng, state, cfg, resume)
        planned = ckpt.meta["config"]["train"]["epochs"]
        if cfg.schedule.name == "cosine" and planned != cfg.train.epochs:
            echo(f"note: the cosine schedule now spans {cfg.train.epochs} epochs instead of {planned}, so the "
                 f"learning rate rises again; this run will differ from one trained {cfg.train.epochs} epochs straight")
    monitor = cfg.train.monitor if ds.val is not None else cfg.train.monitor.replace("val_", "train_")
    if ds.val is None and resume is None:
        echo(f"note: data.val_size is 0, so best.npz and early stopping follow {monitor}")

    out_dir.mkdir(parents=True, exist_ok=True)
    best_params = _resume_best(Path(resume), out_dir) if ckpt is not None else None

    steps = _Steps(model, loss, opt, sched, data.Batcher(ds.train, ds.scale, cfg.train.batch_size, model.dtype),
                   rng, cfg.train.batch_size, _sample_sgd(cfg))
    n = len(ds.train)
    stopped_early = False
    base_meta = {"mlpnet_version": __version__, "classes": ds.classes, "input": ds.input,
                 "config": cfg.to_dict(), "n_train": n, "n_val": len(ds.val) if ds.val else 0}
    extra_input = {f"input.{k}": v for k, v in ds.stats.items()}

    displace = overwrite and resume is None and any((out_dir / f).exists() for f in MODEL_FILES)
    try:
        # Overflow is detected and reported as divergence below; NumPy's warnings would only add noise.
        with _thread_limit(1 if steps.one else cfg.train.threads), np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(state.epoch + 1, cfg.train.epochs + 1):
                t0 = time.perf_counter()
                order = rng.permutation(n) if cfg.train.shuffle else np.arange(n)
                bar = _bar(progress, steps_per_epoch, f"epoch {epoch}/{cfg.train.epochs}")
                try:
                    loss_sum, correct, bad = steps.epoch(order, state, bar)
                    if bad is None and not np.isfinite(model.params).all():
                        bad = ("the weights became non-finite", steps_per_epoch)
                    if bad is not None:
                        raise TrainingError(_diverged(bad[0], epoch, bad[1], steps_per_epoch, out_dir, state, o.lr))
                finally:
                    if bar is not None:
                        bar.close()

                row = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": correct / n}
                if ds.val is not None:
                    row["val_loss"], row["val_accuracy"] = loss_and_accuracy(model, loss, ds.val, ds.scale)
                else:
                    row["val_loss"] = row["val_accuracy"] = math.nan
                row["lr"] = sched(max(state.step - 1, 0))
                row["seconds"] = time.perf_counter() - t0
                state.epoch = epoch
                state.history.append(row)

                value = row[monitor]
                improved = _better(value, state.best_value, monitor)
                if improved:
                    state.best_epoch, state.best_value, state.wait = epoch, value, 0
                    best_params = model.params.copy()
                else:
                    state.wait += 1
                patience = cfg.train.early_stopping
                stopped_early = bool(patience) and state.wait >= patience and epoch < cfg.train.epochs

                if displace:
                    _displace(out_dir, echo)
                    displace = False
                _save_epoch(out_dir, cfg, model, opt, rng, state, base_meta, extra_input, improved, monitor,
                            status="early_stopped" if stopped_early else ("completed" if epoch == cfg.train.epochs else "running"))

                # The bar (closed above) disappears; every epoch leaves one summary line, terminal or log.
                echo(_summary(row, cfg.train.epochs, improved))
                if log_format:
                    _log_row(row, log_format, log_stream or sys.stdout, first=(len(state.history) == 1))
                if stopped_early:
                    echo(f"early stopping: {monitor} has not improved for {patience} epochs "
                         f"(best {state.best_value:.4f} at epoch {state.best_epoch})")
                    break

    except KeyboardInterrupt:
        # Files are replaced atomically, so whatever the interrupt cut short is still whole.
        raise Interrupted(_interrupted_message(state.epoch + 1, out_dir)) from None

    try:
        return _finish(cfg, out_dir, model, loss, ds, state, best_params, monitor, stopped_early, echo)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after training finished; {out_dir / 'best.npz'} holds epoch "
                          f"{state.best_epoch}; mlpnet evaluate --model {out_dir / 'best.npz'} gives its test "
                          "metrics") from None


def _finish(cfg: Config, out_dir: Path, model: MLP, loss, ds, state: _State, best_params, monitor: str,
            stopped_early: bool, echo) -> RunResult:
    """Plot the curves, evaluate the best epoch on the test split and record it in best.npz."""
    try:
        plots.plot_curves(state.history, out_dir / "curves.png", title=f"{cfg.name}: {out_dir}")
    except plots.PlotUnavailable as err:
        echo(f"note: {err} (curves.png not written)")
    result = RunResult(out_dir=out_dir, epochs=state.epoch, best_epoch=state.best_epoch,
                       best_value=state.best_value, monitor=monitor, stopped_early=stopped_early,
                       history=state.history)
    if ds.test is not None and best_params is not None and len(ds.test) and (out_dir / "best.npz").exists():
        model.params[...] = best_params
        test_loss, test_acc = loss_and_accuracy(model, loss, ds.test, ds.scale)
        result.test = {"loss": test_loss, "accuracy": test_acc, "n": len(ds.test), "epoch": state.best_epoch}
        best = checkpoint.load(out_dir / "best.npz")
        best.meta.update(test=result.test, status="early_stopped" if stopped_early else "completed",
                         run_epochs=state.epoch)
        meta = {k: v for k, v in best.meta.items() if k not in ("format", "format_version", "architecture")}
        checkpoint.save(out_dir / "best.npz", best.model, meta, best.arrays)
    return result


# -- helpers -----------------------------------------------------------------------------

@dataclass
class _Steps:
    """The inner loop: one optimizer step per batch, over one epoch."""

    model: MLP
    loss: losses.Loss
    opt: optim.Optimizer
    sched: schedules.Schedule
    batcher: data.Batcher
    rng: np.random.Generator
    batch_size: int
    one: bool
    """Use the model's single-sample SGD path (see ``_sample_sgd``)."""

    def epoch(self, order: np.ndarray, state: _State, bar) -> tuple[float, int, tuple[str, int] | None]:
        """Train on the rows ``order`` in batches; returns the summed loss, the correct count,
        and ``(what, batch)`` if the loss became non-finite (training stops there)."""
        model, loss, bs = self.model, self.loss, self.batch_size
        n = len(order)
        loss_sum, correct = 0.0, 0
        for b in range(math.ceil(n / bs)):
            xb, yb = self.batcher.gather(order[b * bs:(b + 1) * bs])
            out = model.forward_one(xb) if self.one else model.forward(xb, train=True, rng=self.rng)
            batch_loss = loss.value(out, yb)
            if not math.isfinite(batch_loss):
                return loss_sum, correct, (f"the loss became {batch_loss}", b + 1)
            loss_sum += batch_loss
            correct += int(np.count_nonzero(out.argmax(axis=1) == yb))
            delta = model.output_delta(len(yb))
            loss.delta(out, yb, model.grad_output, delta)
            lr = self.sched(state.step)
            if self.one:
                model.sgd_step_one(delta, lr)
                self.opt.count_step()
            else:
                model.backward(delta)
                self.opt.step(model.params, model.grads, lr)
            state.step += 1
            if bar is not None:
                bar.update(1)
                if b % 25 == 0:
                    seen = min((b + 1) * bs, n)
                    bar.set_postfix_str(f"loss {loss_sum / seen:.4f} acc {correct / seen:.2%}", refresh=False)
        return loss_sum, correct, None


def _resume_best(resume: Path, out_dir: Path) -> np.ndarray | None:
    """The best parameters so far of a resumed run; its best.npz is carried into a new out_dir."""
    src = resume.parent / "best.npz"
    try:
        best = checkpoint.load(src)
    except MlpnetError:
        return None
    if not (out_dir / "best.npz").exists():
        with atomic_write(out_dir / "best.npz") as f:
            f.write(src.read_bytes())
    return best.model.params.copy()


RUN_FILES = (*MODEL_FILES, "config.yaml", "metrics.csv", "curves.png")


def _displace(out_dir: Path, echo) -> None:
    """Move the model an --overwrite run replaces into ``out_dir/previous/``, so it is never lost."""
    prev = out_dir / "previous"
    if prev.exists():
        shutil.rmtree(prev)
    prev.mkdir()
    for name in RUN_FILES:
        if (out_dir / name).exists():
            os.replace(out_dir / name, prev / name)
    echo(f"note: the model that was in {out_dir} is now in {prev}")


def _check_out_dir(out_dir: Path, resume, overwrite: bool) -> None:
    held = [f for f in MODEL_FILES if (out_dir / f).exists()]
    if not held or overwrite:
        return
    if resume is not None and Path(resume).resolve().parent == out_dir.resolve():
        return
    raise TrainingError(f"{out_dir}: already holds a model ({', '.join(held)}); continue it with "
                        f"--resume {out_dir / 'last.npz'}, replace it with --overwrite, or choose --out")


def _restore(ckpt, model: MLP, opt, rng, state: _State, cfg: Config, path) -> None:
    meta = ckpt.meta
    if tuple(meta["architecture"]["sizes"]) != model.arch.sizes:
        raise CheckpointError(f"{path}: the checkpoint's network {meta['architecture']['sizes']} does not fit "
                              f"the data ({list(model.arch.sizes)})")
    model.params[...] = ckpt.model.params
    opt.load_state_dict(ckpt.group("optim"), meta["optimizer"])
    rng.bit_generator.state = meta["rng"]
    best = meta["best"]
    state.epoch, state.step = int(meta["epoch"]), int(meta["step"])
    state.best_epoch, state.best_value = int(best["epoch"]), float(best["value"])
    state.wait = int(meta.get("wait", 0))
    state.history = [dict(r) for r in meta.get("history", [])]
    if state.epoch >= cfg.train.epochs:
        raise TrainingError(f"{path}: this run already trained {state.epoch} epochs (train.epochs is "
                            f"{cfg.train.epochs}); to continue it set a larger total, e.g. "
                            f"--set train.epochs={state.epoch * 2}")


def _save_epoch(out_dir: Path, cfg: Config, model: MLP, opt, rng, state: _State, base_meta: dict,
                extra_input: dict, improved: bool, monitor: str, status: str) -> None:
    row = state.history[-1]
    meta = {**base_meta, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "epoch": state.epoch, "step": state.step, "metrics": row, "status": status,
            "best": {"epoch": state.best_epoch, "monitor": monitor, "value": state.best_value},
            "wait": state.wait, "history": state.history}
    if state.epoch == 1 or not (out_dir / "config.yaml").exists():
        write_text(out_dir / "config.yaml", cfg.to_yaml())
    arrays, scalars = opt.state_dict()
    # best.npz first: if the run is interrupted between the two writes, last.npz still
    # describes an epoch whose best.npz is on disk.
    if improved:
        checkpoint.save(out_dir / "best.npz", model, meta, extra_input)
    checkpoint.save(out_dir / "last.npz", model,
                    {**meta, "optimizer": scalars, "rng": rng.bit_generator.state},
                    {**extra_input, **{f"optim.{k}": v for k, v in arrays.items()}})
    write_text(out_dir / "metrics.csv", _csv(state.history))


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=METRIC_FIELDS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k)) for k in METRIC_FIELDS})
    return buf.getvalue()


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


def _better(value: float, best: float, monitor: str) -> bool:
    if math.isnan(value):
        return False
    if math.isnan(best):
        return True
    return value < best if monitor.endswith("loss") else value > best


def _summary(row: dict, epochs: int, improved: bool) -> str:
    """One line per epoch, under 80 columns (the learning rate is in metrics.csv)."""
    width = len(str(epochs))
    parts = [f"epoch {row['epoch']:>{width}}/{epochs}",
             f"train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.2%}"]
    if not math.isnan(row["val_loss"]):
        parts.append(f"val loss {row['val_loss']:.4f} acc {row['val_accuracy']:.2%}")
    parts.append(f"{row['seconds']:.1f}s{' *' if improved else ''}")
    return "  ".join(parts)


def _log_row(row: dict, fmt: str, stream, first: bool) -> None:
    if fmt == "jsonl":
        stream.write(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}) + "\n")
    else:
        text = _csv([row])
        stream.write(text if first else text.split("\n", 1)[1])
    stream.flush()


def _bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    # A fixed, compact layout that fits 80 columns with the running loss and accuracy.
    return tqdm(total=total, desc=desc, unit="batch", leave=False, mininterval=0.2, file=sys.stderr,
                bar_format="{desc} {percentage:3.0f}%|{bar:16}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")


def _sample_sgd(cfg: Config) -> bool:
    """Whether the model's single-sample path applies: batches of one, plain SGD, no dropout.

    Its matrix-vector products are too small to share between threads (handing one over
    costs more than it saves), so that path runs on one thread.
    """
    o = cfg.optimizer
    return (cfg.train.batch_size == 1 and o.name == "sgd" and not o.momentum and not o.weight_decay
            and not cfg.model.dropout)


def _thread_limit(threads: int | None):
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")


def _diverged(what: str, epoch: int, batch: int, total: int, out_dir: Path, state: _State, lr: float) -> str:
    kept = (f"the last good checkpoint ({out_dir / 'last.npz'}, epoch {state.epoch}) is kept"
            if state.epoch else "nothing was saved")
    return (f"training diverged: {what} at epoch {epoch}, batch {batch}/{total}; {kept}; "
            f"try a lower optimizer.lr (it was {lr:.3g})")


def _interrupted_message(epoch: int, out_dir: Path) -> str:
    """Say what ``last.npz`` really holds (read back, since the interrupt may have hit a save)."""
    try:
        held = int(checkpoint.load(out_dir / "last.npz").meta["epoch"])
    except (MlpnetError, KeyError, ValueError):
        held = 0
    if held == 0:
        return f"interrupted during epoch {epoch}, before any epoch of this run was saved"
    return (f"interrupted during epoch {epoch}; {out_dir / 'last.npz'} holds epoch {held}; "
            f"resume with: mlpnet train --resume {out_dir / 'last.npz'}")
