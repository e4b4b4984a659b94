"""The training loop: epochs of batches, validation, checkpoints, resume, and failure handling."""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .. import __version__, checkpoint, data, plots
from ..config import Config, stored_config
from ..distributed import mpi
from ..errors import ConfigError, MlpnetError, TrainingError
from ..evaluate import loss_and_accuracy
from ..data import Dataset
from ..data.augment import from_config as augment_from_config
from ..nn import MLP, losses
from .build import batch_for, build_model, build_optimizer, build_schedule, build_step, check_memory, epochs_for
from .report import Reporter, diverged_message
from .rundir import RunDir
from .state import TrainState, check_more_epochs, check_resumable, restore

RESUMABLE_KEYS = ("train.epochs", "train.early_stopping", "train.threads", "data.path", "data.download")


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
    config: Config | None = None
    model: MLP | None = None
    """The network with the best epoch's parameters (when a best epoch was found)."""


def fit(cfg: Config, out_dir: str | Path | None, *, resume: str | Path | None = None, resume_overrides=(),
        overwrite: bool = False, reporter: Reporter | None = None, dataset: Dataset | None = None) -> RunResult:
    """Train a model as ``cfg`` says, writing the run directory ``out_dir``.

    ``cfg`` is ignored when resuming: the checkpoint's own config is used, with
    ``resume_overrides`` applied to the keys in ``RESUMABLE_KEYS``. A directory that
    already holds a model is refused unless ``resume`` continues it or ``overwrite`` is set.
    With ``out_dir`` None nothing is written (the Python API); ``dataset`` then gives data
    already prepared by :func:`mlpnet.data.formats.prepare` instead of loading ``cfg.data``.

    Raises
    ------
    Interrupted
        On Ctrl-C, after making sure ``last.npz`` holds the last finished epoch.
    TrainingError
        When the loss or the weights become non-finite; the last good checkpoints stay.
    """
    rep = reporter or Reporter()
    comm = mpi.world()
    if comm.size > 1:
        # Data parallel (under mpirun): rank 0 alone reports and writes the run directory.
        if comm.is_root:
            rep.echo(f"data-parallel over {comm.size} MPI processes")
        else:
            rep = Reporter(lambda line: None)
    run = RunDir(out_dir) if out_dir is not None else None
    write = run is not None and comm.is_root
    ckpt = None
    if resume is not None:
        ckpt = checkpoint.load(resume)
        check_resumable(ckpt, resume)
        cfg = stored_config(ckpt.meta["config"], resume, resume_overrides, allowed=RESUMABLE_KEYS)
    ds = dataset or data.load(cfg.data, cfg.seed, progress=rep.progress)  # a wrong data path is reported first
    if run:
        run.check(resume, overwrite)
    for note in ds.notes:
        rep.echo(f"note: {note}")
    if ds.name and ds.name != cfg.data.dataset:
        # A fallback (mnist -> mnist-sample): the saved config names what was used, so evaluate and resume agree.
        cfg.data.dataset = ds.name
    n = len(ds.train)
    batch = batch_for(cfg, n)
    check_memory(cfg, ds.n_features, ds.n_classes, batch)
    steps_per_epoch = math.ceil(n / batch)
    epochs = epochs_for(cfg, steps_per_epoch)
    if ckpt is None and batch != cfg.train.batch_size and batch < n:
        rep.echo(f"note: {n} training samples: train.batch_size={cfg.train.batch_size} lowered to {batch} so an "
                 f"epoch has {steps_per_epoch} updates (train.min_batches={cfg.train.min_batches}; 0 keeps it)")
    if ckpt is None and epochs != cfg.train.epochs:
        rep.echo(f"note: train.epochs={cfg.train.epochs} raised to {epochs}: this small training set makes "
                 f"{steps_per_epoch} updates per epoch, and train.min_steps={cfg.train.min_steps} asks for at least "
                 f"that many in all (train.min_steps=0 keeps {cfg.train.epochs})")
    if ckpt is None:  # the resolved config records what the run really does, so a resume repeats it
        cfg.train.batch_size, cfg.train.epochs = batch, epochs

    model = build_model(cfg, ds.n_features, ds.n_classes)
    rng = np.random.default_rng(data.train_seed(cfg.seed))
    model.init(cfg.model.init, rng)
    opt = build_optimizer(cfg, model)
    loss = losses.get(cfg.loss)  # validation and test: plain, whatever label smoothing training uses
    step = build_step(cfg, model, opt, reduce=comm.allreduce_ if comm.size > 1 else None)
    sched = build_schedule(cfg, cfg.train.epochs, steps_per_epoch)
    state, best_params = TrainState(), None
    if ckpt is not None:
        state = restore(ckpt, model, opt, rng, resume)
        check_more_epochs(state, cfg.train.epochs, resume)
        _note_schedule_change(cfg, ckpt.meta["config"]["train"]["epochs"], rep)
    # Checked before the run directory exists, so a refused config leaves nothing behind.
    augment = augment_from_config(cfg.data.augment, ds, batch, model.dtype)
    if augment is not None and comm.size > 1:
        # Each rank would draw augmentations for its own rows only, and the ranks' generators
        # (which also shuffle and drop out) would drift apart.
        raise ConfigError("data.augment: augmentation is not supported in MPI data-parallel training yet; "
                          "set data.augment.* to 0 or train in one process")
    comm.bcast_(model.params)  # every rank starts from rank 0's weights
    if write:
        run.path.mkdir(parents=True, exist_ok=True)
    if run and ckpt is not None:
        best_params = run.adopt_best(Path(resume), write=comm.is_root)
    monitor = cfg.train.monitor if ds.val is not None else cfg.train.monitor.replace("val_", "train_")
    if ds.val is None and resume is None:
        rep.echo(f"note: data.val_size is 0, so best.npz and early stopping follow {monitor}")

    batcher = data.Batcher(ds.train, ds.scale, batch, model.dtype, augment=augment, rng=rng)
    base_meta = {"mlpnet_version": __version__, "dataset": ds.name or cfg.data.dataset, "classes": ds.classes,
                 "input": ds.input,
                 "config": cfg.to_dict(), "n_train": n, "n_val": len(ds.val) if ds.val else 0}
    arrays = {f"input.{k}": v for k, v in ds.stats.items()}
    displace = write and overwrite and resume is None and run.holds_model()
    stopped_early = False
    threads = cfg.train.threads
    if threads is None and comm.size > 1:
        threads = max(1, (os.cpu_count() or 1) // comm.local_size)  # the ranks on a machine share its cores
    try:
        # Overflow is detected and reported as divergence below; NumPy's warnings would only add noise.
        with thread_limit(1 if step.one else threads, rep), np.errstate(over="ignore", invalid="ignore"):
            for epoch in range(state.epoch + 1, cfg.train.epochs + 1):
                t0 = time.perf_counter()
                order = rng.permutation(n) if cfg.train.shuffle else np.arange(n)
                loss_sum, correct = _epoch(step, batcher, sched, rng, order, batch, state, epoch, cfg, rep, run, comm)
                row = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": correct / n,
                       "val_loss": math.nan, "val_accuracy": math.nan}
                if ds.val is not None:
                    row["val_loss"], row["val_accuracy"] = _evaluate(model, loss, ds.val, ds.scale, comm)
                row["lr"] = sched(max(state.step - 1, 0))
                row["seconds"] = time.perf_counter() - t0
                state.epoch = epoch
                state.history.append(row)
                improved = state.improves(row, monitor)
                if improved:
                    state.record_best(row, monitor)
                    best_params = model.params.copy()
                else:
                    state.wait += 1
                patience = cfg.train.early_stopping
                stopped_early = bool(patience) and state.wait >= patience and epoch < cfg.train.epochs
                if displace:
                    rep.echo(f"note: the model that was in {run.path} is now in {run.displace()}")
                    displace = False
                status = "early_stopped" if stopped_early else ("completed" if epoch == cfg.train.epochs else "running")
                if write:
                    opt_arrays, opt_scalars = opt.state_dict()
                    run.save_epoch(model, {**base_meta, **state.to_meta(monitor), "metrics": row, "status": status},
                                   arrays, {"optimizer": opt_scalars, "rng": rng.bit_generator.state},
                                   {f"optim.{k}": v for k, v in opt_arrays.items()}, improved, state.history,
                                   cfg.to_yaml())
                rep.epoch(row, cfg.train.epochs, improved)
                if stopped_early:
                    rep.echo(f"early stopping: {monitor} has not improved for {patience} epochs "
                             f"(best {state.best_value:.4f} at epoch {state.best_epoch})")
                    break
    except KeyboardInterrupt:
        # Files are replaced atomically, so whatever the interrupt cut short is still whole.
        if run is None:
            raise
        raise Interrupted(_interrupted_message(state.epoch + 1, run)) from None
    try:
        return _finish(cfg, run, model, loss, ds, state, best_params, monitor, stopped_early, rep, comm)
    except KeyboardInterrupt:
        if run is None:
            raise
        raise Interrupted(f"interrupted after training finished; {run.best} holds epoch {state.best_epoch}; "
                          f"mlpnet evaluate --model {run.best} gives its test metrics") from None


def _epoch(step, batcher, sched, rng, order, batch: int, state: TrainState, epoch: int, cfg: Config,
           rep: Reporter, run: RunDir | None, comm: mpi.Comm) -> tuple[float, int]:
    """One pass over the rows ``order``; returns the summed loss and the correct count."""
    n, total = len(order), math.ceil(len(order) / batch)
    bar = rep.bar(total, f"epoch {epoch}/{cfg.train.epochs}")
    loss_sum, correct = 0.0, 0
    parallel = _DataParallel(step, batcher, rng, comm) if comm.size > 1 else None
    try:
        for b in range(total):
            lr = sched(state.step)
            if parallel is not None:
                value, right = parallel(order[b * batch:(b + 1) * batch], lr)
            else:
                xb, yb = batcher.gather(order[b * batch:(b + 1) * batch])
                value, right = step(xb, yb, lr, rng)
            if not math.isfinite(value):
                _diverge(f"the loss became {value}", epoch, b + 1, total, run, state, cfg.optimizer.lr)
            loss_sum += value
            correct += right
            state.step += 1
            if bar is not None:
                bar.update(1)
                if b % 25 == 0:
                    seen = min((b + 1) * batch, n)
                    bar.set_postfix_str(f"loss {loss_sum / seen:.4f} acc {correct / seen:.2%}", refresh=False)
        if not np.isfinite(step.model.params).all():
            _diverge("the weights became non-finite", epoch, total, total, run, state, cfg.optimizer.lr)
    finally:
        if bar is not None:
            bar.close()
    return loss_sum, correct


class _DataParallel:
    """One step on this rank's part of a global batch; gradients are summed by the step's ``reduce``.

    Each rank takes the contiguous rows ``comm.part(n)`` of the batch, scales dL/dz by its
    share of the batch (the loss is the global-batch mean), and the summed gradient is
    then the one a single process computes for the whole batch; every rank takes the
    same optimizer step. Dropout masks are drawn for the whole batch on every rank
    (``RowsOfGlobalBatch``), so the shared generator, and the next epoch's shuffle, stay in step.
    """

    def __init__(self, step, batcher, rng, comm: mpi.Comm):
        self.step, self.batcher, self.comm = step, batcher, comm
        self.rows = mpi.RowsOfGlobalBatch(rng)
        self.stats = np.zeros(2)

    def __call__(self, idx: np.ndarray, lr: float) -> tuple[float, int]:
        """Train on the global batch ``idx``; returns its summed loss and correct count over all ranks."""
        step, model, n = self.step, self.step.model, len(idx)
        lo, hi = self.comm.part(n)
        if hi > lo:
            xb, yb = self.batcher.gather(idx[lo:hi])
            value, right = step(xb, yb, lr, self.rows.rows(lo, hi, n), delta_scale=(hi - lo) / n)
        else:  # a last batch with fewer rows than ranks: contribute nothing, but keep in step
            if model.arch.dropout > 0:
                self.rows.rows(0, 0, n).skip_masks(list(model.arch.sizes[1:-1]), model.dtype.type)
            model.grads.fill(0)
            step.reduce(model.grads)
            step.opt.step(model.params, model.grads, lr)
            value, right = 0.0, 0
        self.stats[:] = value, right
        self.comm.allreduce_(self.stats)  # every rank sees the same loss, so all stop together if it diverges
        return float(self.stats[0]), int(self.stats[1])


def _evaluate(model, loss, split, scale: float, comm: mpi.Comm) -> tuple[float, float]:
    """Mean loss and accuracy on ``split``; under MPI each rank evaluates its part of the rows."""
    if comm.size == 1:
        return loss_and_accuracy(model, loss, split, scale)
    lo, hi = comm.part(len(split))
    sums = np.zeros(2)
    if hi > lo:
        mean_loss, acc = loss_and_accuracy(model, loss, data.Split(split.x[lo:hi], split.y[lo:hi]), scale)
        sums[:] = mean_loss * (hi - lo), round(acc * (hi - lo))
    comm.allreduce_(sums)
    return float(sums[0] / len(split)), float(sums[1] / len(split))


def _diverge(what: str, epoch: int, batch: int, total: int, run: RunDir | None, state: TrainState, lr: float):
    raise TrainingError(diverged_message(what, epoch, batch, total, run.last if run else None,
                                         state.epoch if run else 0, lr))


def _finish(cfg: Config, run: RunDir | None, model, loss, ds, state: TrainState, best_params, monitor: str,
            stopped_early: bool, rep: Reporter, comm: mpi.Comm) -> RunResult:
    """Plot the curves, evaluate the best epoch on the test split and record it in best.npz."""
    if run and comm.is_root:
        try:
            plots.plot_curves(state.history, run.path / "curves.png", title=f"{cfg.name}: {run.path}")
        except plots.PlotUnavailable as err:
            rep.echo(f"note: {err} (curves.png not written)")
    result = RunResult(out_dir=run.path if run else None, epochs=state.epoch, best_epoch=state.best_epoch,
                       best_value=state.best_value, monitor=monitor, stopped_early=stopped_early,
                       history=state.history, config=cfg, model=model)
    if best_params is not None:
        model.params[...] = best_params
    # every rank evaluates its part of the test split; rank 0 alone wrote best.npz and records it
    # (the condition is the same on every rank, so all of them reach the reduction)
    if run and ds.test is not None and best_params is not None and len(ds.test) and (comm.size > 1 or run.best.exists()):
        test_loss, test_acc = _evaluate(model, loss, ds.test, ds.scale, comm)
        result.test = {"loss": test_loss, "accuracy": test_acc, "n": len(ds.test), "epoch": state.best_epoch}
        if not comm.is_root or not run.best.exists():
            return result
        run.record_test(result.test, "early_stopped" if stopped_early else "completed", state.epoch)
        rep.test(result.test)
    return result


def thread_limit(threads: int | None, rep: Reporter):
    """Limit BLAS threads; more threads than cores only slow BLAS down (many times over), so cap them."""
    if threads is None:
        return contextlib.nullcontext()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if threads > cores:
        rep.echo(f"note: train.threads={threads} is more than the {cores} core(s) here, which only slows "
                 f"training down; using {cores}")
        threads = cores
    return threadpool_limits(limits=threads, user_api="blas")


def _note_schedule_change(cfg: Config, planned: int, rep: Reporter) -> None:
    if cfg.schedule.name == "cosine" and planned != cfg.train.epochs:
        how = "rises again" if cfg.train.epochs > planned else "falls faster"
        rep.echo(f"note: the cosine schedule now spans {cfg.train.epochs} epochs instead of {planned}, so the "
                 f"learning rate {how}; this run will differ from one trained {cfg.train.epochs} epochs straight")


def _interrupted_message(epoch: int, run: RunDir) -> str:
    held = run.held_epoch()
    if held == 0:
        return f"interrupted during epoch {epoch}, before any epoch of this run was saved"
    return f"interrupted during epoch {epoch}; {run.last} holds epoch {held}; resume with: mlpnet train --resume {shlex.quote(str(run.last))}"
