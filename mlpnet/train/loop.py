"""The training loop: epochs of batches, validation, checkpoints, resume, and failure handling.

:func:`fit` reads on one screen; :class:`Run` holds what its steps share (config, data,
model, optimizer, step, generator, state, run directory) and does each step. The
data-parallel step lives in :mod:`mlpnet.distributed.data_parallel`.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .. import __version__, checkpoint, data, plots
from ..checkpoint import Meta
from ..config import Config, stored_config
from ..distributed import mpi
from ..distributed.data_parallel import mean_over_ranks, stepper
from ..errors import ConfigError, MlpnetError, TrainingError
from ..evaluate import loss_and_score
from ..data import Dataset
from ..data.augment import from_config as augment_from_config
from ..data.transforms import apply_class_weight
from ..nn import MLP, losses
from .build import build_model, build_optimizer, build_schedule, build_step, check_memory, check_warmup
from .report import Reporter, diverged_message
from .rundir import RunDir
from .sizing import blas_threads, plan
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


EpochCallback = Callable[["Run", dict], None]
"""Called after each epoch is saved and reported, with the run and the epoch's row; it may call
:meth:`Run.stop`, or raise to end the run (the sweep's pruning does)."""


def fit(cfg: Config, out_dir: str | Path | None, *, resume: str | Path | None = None, resume_overrides=(),
        overwrite: bool = False, reporter: Reporter | None = None, dataset: Dataset | None = None,
        callbacks: Sequence[EpochCallback] = ()) -> RunResult:
    """Train a model as ``cfg`` says, writing the run directory ``out_dir``.

    ``cfg`` is ignored when resuming: the checkpoint's own config is used, with
    ``resume_overrides`` applied to the keys in ``RESUMABLE_KEYS``. A directory that
    already holds a model is refused unless ``resume`` continues it or ``overwrite`` is set.
    With ``out_dir`` None nothing is written (the Python API); ``dataset`` then gives data
    already prepared by :func:`mlpnet.data.formats.prepare` instead of loading ``cfg.data``.
    ``callbacks`` run after every epoch (see :data:`EpochCallback`).

    Raises
    ------
    Interrupted
        On Ctrl-C, after making sure ``last.npz`` holds the last finished epoch.
    TrainingError
        When the loss or the weights become non-finite; the last good checkpoints stay.
    """
    run = Run(cfg, out_dir, resume=resume, resume_overrides=resume_overrides, overwrite=overwrite,
              reporter=reporter, dataset=dataset, callbacks=callbacks)
    try:
        try:
            # Overflow is detected and reported as divergence; NumPy's warnings would only add noise.
            with run.thread_limit(), np.errstate(over="ignore", invalid="ignore"):
                for epoch in run.epochs():
                    row = run.train_epoch(epoch)
                    run.validate(row)
                    run.save(row)
                    if run.should_stop(row):
                        break
        except KeyboardInterrupt:
            raise run.interrupted(finished=False) from None
        try:
            return run.finish()
        except KeyboardInterrupt:
            raise run.interrupted(finished=True) from None
    finally:
        if dataset is None:  # data this run loaded: what it keeps on disk goes with it
            run.ds.close()


class Run:
    """One training run: what the epoch loop shares, from the start of :func:`fit` to its result.

    Attributes
    ----------
    cfg : Config
        The resolved config (the checkpoint's own when resuming).
    ds : Dataset
    model, opt, step, sched, rng
        The network, its optimizer, the training step, the learning-rate schedule and the one generator.
    state : TrainState
        Epoch and step counters, best epoch and history: what a resume restores.
    dir : RunDir or None
        Where the run writes (None: the Python API writes nothing).
    monitor : str
        The metric that picks the best epoch and drives early stopping.
    """

    def __init__(self, cfg: Config, out_dir, *, resume=None, resume_overrides=(), overwrite: bool = False,
                 reporter: Reporter | None = None, dataset: Dataset | None = None,
                 callbacks: Sequence[EpochCallback] = ()):
        self.rep = reporter or Reporter()
        self.comm = comm = mpi.world()
        if comm.size > 1:
            # Data parallel (under mpirun): rank 0 alone reports and writes the run directory.
            if comm.is_root:
                self.rep.echo(f"data-parallel over {comm.size} MPI processes")
            else:
                self.rep = Reporter(lambda line: None)
        self.dir = RunDir(out_dir) if out_dir is not None else None
        self.write = self.dir is not None and comm.is_root
        self.callbacks = list(callbacks)
        self.resume, ckpt = resume, None
        if resume is not None:
            ckpt = checkpoint.load(resume)
            check_resumable(ckpt, resume)
            cfg = stored_config(ckpt.meta.config, resume, resume_overrides, allowed=RESUMABLE_KEYS)
        self.cfg = cfg
        self.ds = ds = dataset or data.load(cfg.data, cfg.seed, progress=self.rep.progress,
                                            task=_task_asked(cfg))  # a wrong path first
        if self.dir:
            self.dir.check(resume, overwrite)
        for note in ds.notes:
            self.rep.echo(f"note: {note}")
        if ds.name and ds.name != cfg.data.dataset:
            # A fallback (mnist -> mnist-sample): the saved config names what was used, so evaluate and resume agree.
            cfg.data.dataset = ds.name
        _resolve_task(cfg, ds)
        if cfg.train.class_weight is not None and resume is None:
            self.rep.echo(f"note: {apply_class_weight(ds, cfg.train.class_weight)}")
        elif cfg.train.class_weight is not None:
            apply_class_weight(ds, cfg.train.class_weight)
        if isinstance(ds.train, data.StreamSplit) and comm.size > 1:
            raise ConfigError("data.chunk_rows: reading a file a chunk at a time is not supported in MPI "
                              "data-parallel training yet; set data.chunk_rows: null or train in one process")
        if ds.train.w is not None and comm.size > 1:
            raise ConfigError("data.weight_column / train.class_weight: sample weights are not supported in MPI "
                              "data-parallel training yet; train in one process")
        self._size_batches()
        if self.batch == 1 and ds.train.w is not None and resume is None:
            self.rep.echo("note: train.batch_size is 1, and a step's gradient is averaged over its rows' weights "
                          "(scikit-learn's convention), so a row's weight divides out and only a weight of 0 changes "
                          "training; use batches of more rows for weights to count")
        self._build(ckpt)
        self.meta = Meta(classes=ds.classes, input=ds.input, task=ds.task, targets=ds.targets or None,
                         target_stats=ds.target_stats, config=cfg.to_dict(), mlpnet_version=__version__,
                         dataset=ds.name or cfg.data.dataset, n_train=len(ds.train),
                         n_val=len(ds.val) if ds.val else 0)
        self.displace = self.write and overwrite and resume is None and self.dir.holds_model()
        self.stopped_early = self._stop = False
        self._t0 = 0.0

    def _size_batches(self) -> None:
        """Batch size and epochs for this training set: the small-data policy fills ``auto`` values
        (with a note naming both); explicit ones are kept."""
        cfg, n = self.cfg, len(self.ds.train)
        sizes = plan(n, cfg.train.batch_size, cfg.train.epochs, min_batches=cfg.train.min_batches,
                     min_steps=cfg.train.min_steps)
        self.batch, self.steps_per_epoch = sizes.batch_size, sizes.steps_per_epoch
        check_memory(cfg, self.ds.n_features, self.ds.n_outputs, self.batch)
        for note in sizes.notes:  # a resumed run's stored numbers are explicit: notes come only from auto
            self.rep.echo(f"note: {note}")
        # The resolved config records what the run really does, so a resume repeats it.
        cfg.train.batch_size, cfg.train.epochs = sizes.batch_size, sizes.epochs
        check_warmup(cfg)

    def _build(self, ckpt) -> None:
        """Model, optimizer, step, schedule and generator; restored from ``ckpt`` when resuming."""
        cfg, ds, comm = self.cfg, self.ds, self.comm
        self.model = model = build_model(cfg, ds.n_features, ds.n_outputs)
        self.rng = rng = np.random.default_rng(data.train_seed(cfg.seed))
        model.init(cfg.init_name, rng)
        self.opt = build_optimizer(cfg, model)
        self.loss = losses.get(cfg.loss_name)  # validation and test: plain, whatever label smoothing training uses
        self.step = build_step(cfg, model, self.opt, reduce=comm.allreduce_ if comm.size > 1 else None)
        self.sched = build_schedule(cfg, cfg.train.epochs, self.steps_per_epoch)
        self.state, self.best_params = TrainState(), None
        if ckpt is not None:
            self.state = restore(ckpt, model, self.opt, rng, self.resume)
            check_more_epochs(self.state, cfg.train.epochs, self.resume)
            _note_schedule_change(cfg, ckpt.meta.config["train"]["epochs"], self.rep)
        # Checked before the run directory exists, so a refused config leaves nothing behind.
        augment = augment_from_config(cfg.data.augment, ds, self.batch, model.dtype)
        if augment is not None and comm.size > 1:
            # Each rank would draw augmentations for its own rows only, and the ranks' generators
            # (which also shuffle and drop out) would drift apart.
            raise ConfigError("data.augment: augmentation is not supported in MPI data-parallel training yet; "
                              "set data.augment.* to 0 or train in one process")
        comm.bcast_(model.params)  # every rank starts from rank 0's weights
        if self.write:
            self.dir.path.mkdir(parents=True, exist_ok=True)
        if self.dir and ckpt is not None:
            self.best_params = self.dir.adopt_best(Path(self.resume), write=comm.is_root)
        self.monitor = cfg.train.monitor if ds.val is not None else cfg.train.monitor.replace("val_", "train_")
        self.score = "r2" if ds.task == "regression" else "accuracy"
        """The second figure of an epoch row (``val_r2`` or ``val_accuracy``; subset accuracy for multilabel)."""
        if ds.val is None and self.resume is None:
            self.rep.echo(f"note: data.val_size is 0, so best.npz and early stopping follow {self.monitor}")
        self.batcher = data.Batcher(ds.train, ds.scale, self.batch, model.dtype, augment=augment, rng=rng)
        self.train_on = stepper(self.step, self.batcher, rng, comm)

    # -- the epoch loop ---------------------------------------------------------------------

    def epochs(self) -> range:
        return range(self.state.epoch + 1, self.cfg.train.epochs + 1)

    def thread_limit(self):
        threads = self.cfg.train.threads
        if threads is None and self.comm.size > 1:
            threads = max(1, (os.cpu_count() or 1) // self.comm.local_size)  # ranks on a machine share its cores
        threads = blas_threads(threads, self.model.arch.sizes, self.batch)
        return thread_limit(1 if self.step.one else threads, self.rep)

    def train_epoch(self, epoch: int) -> dict:
        """One pass over the (shuffled) training rows; the epoch's row with its training metrics."""
        self._t0 = time.perf_counter()
        n, batch, state = len(self.ds.train), self.batch, self.state
        total = math.ceil(n / batch)
        bar = self.rep.bar(total, f"epoch {epoch}/{self.cfg.train.epochs}")
        loss_sum, correct = 0.0, 0
        try:
            for b, (rows, idx) in enumerate(data.epoch_batches(self.ds.train, batch, self.rng, self.cfg.train.shuffle)):
                self.batcher.split = rows  # a chunk of a streamed file (data.chunk_rows), else the whole split
                value, right = self.train_on(idx, self.sched(state.step))
                if not math.isfinite(value):
                    self._diverge(f"the loss became {value}", epoch, b + 1, total)
                loss_sum += value
                correct += right
                state.step += 1
                if bar is not None:
                    bar.update(1)
                    if b % 25 == 0:
                        seen = min((b + 1) * batch, n)
                        bar.set_postfix_str(f"loss {loss_sum / seen:.4f} acc {correct / seen:.2%}", refresh=False)
            if not np.isfinite(self.model.params).all():
                self._diverge("the weights became non-finite", epoch, total, total)
        finally:
            if bar is not None:
                bar.close()
        row = {"epoch": epoch, "train_loss": loss_sum / n, "train_accuracy": correct / n,
               "val_loss": math.nan, "val_accuracy": math.nan}
        if self.ds.task != "classification":  # the step counts right answers of classes only
            row["train_accuracy"] = math.nan
        if self.score == "r2":
            row["train_r2"] = row["val_r2"] = math.nan
        return row

    def validate(self, row: dict) -> None:
        """Fill the row's validation metrics, learning rate and time, and record it in the state."""
        if self.ds.val is not None:
            row["val_loss"], row[f"val_{self.score}"] = self._evaluate(self.ds.val)
        if self.monitor == "train_r2":
            # no validation split: best.npz follows the training split's score, measured after the epoch
            row[self.monitor] = self._evaluate(self.ds.train)[1]
        row["lr"] = self.sched(max(self.state.step - 1, 0))
        row["seconds"] = time.perf_counter() - self._t0
        self.state.epoch = row["epoch"]
        self.state.history.append(row)

    def save(self, row: dict) -> None:
        """Track the best epoch, write the checkpoints (rank 0) and report the epoch."""
        state, patience = self.state, self.cfg.train.early_stopping
        improved = state.improves(row, self.monitor)
        if improved:
            state.record_best(row, self.monitor)
            self.best_params = self.model.params.copy()
        else:
            state.wait += 1
        last = row["epoch"] == self.cfg.train.epochs
        self.stopped_early = bool(patience) and state.wait >= patience and not last
        if self.displace:
            self.rep.echo(f"note: the model that was in {self.dir.path} is now in {self.dir.displace()}")
            self.displace = False
        if self.write:
            status = "early_stopped" if self.stopped_early else ("completed" if last else "running")
            opt_arrays, opt_scalars = self.opt.state_dict()
            self.dir.save_epoch(self.model, replace(self.meta, **state.to_meta(self.monitor), metrics=row,
                                                    status=status),
                                {"optimizer": opt_scalars, "rng": self.rng.bit_generator.state},
                                {f"optim.{k}": v for k, v in opt_arrays.items()}, improved, self.cfg.to_yaml())
        self.rep.epoch(row, self.cfg.train.epochs, improved)

    def should_stop(self, row: dict) -> bool:
        """Run the epoch callbacks; True when early stopping or a callback ends the run here."""
        for callback in self.callbacks:
            callback(self, row)
        if self.stopped_early:
            self.rep.echo(f"early stopping: {self.monitor} has not improved for {self.cfg.train.early_stopping} "
                          f"epochs (best {self.state.best_value:.4f} at epoch {self.state.best_epoch})")
        return self.stopped_early or self._stop

    def stop(self) -> None:
        """End the run after this epoch (for callbacks); it finishes as usual, with its best epoch."""
        self._stop = True

    def finish(self) -> RunResult:
        """Plot the curves, evaluate the best epoch on the test split and record it in best.npz."""
        run, comm, state, ds = self.dir, self.comm, self.state, self.ds
        if run and comm.is_root:
            try:
                plots.plot_curves(state.history, run.path / "curves.png", title=f"{self.cfg.name}: {run.path}")
            except plots.PlotUnavailable as err:
                self.rep.echo(f"note: {err} (curves.png not written)")
        result = RunResult(out_dir=run.path if run else None, epochs=state.epoch, best_epoch=state.best_epoch,
                           best_value=state.best_value, monitor=self.monitor, stopped_early=self.stopped_early,
                           history=state.history, config=self.cfg, model=self.model)
        if self.best_params is not None:
            self.model.params[...] = self.best_params
        # every rank evaluates its part of the test split; rank 0 alone wrote best.npz and records it
        # (the condition is the same on every rank, so all of them reach the reduction)
        if (run and ds.test is not None and self.best_params is not None and len(ds.test)
                and (comm.size > 1 or run.best.exists())):
            test_loss, test_score = self._evaluate(ds.test)
            result.test = {"loss": test_loss, self.score: test_score, "n": len(ds.test), "epoch": state.best_epoch}
            if not comm.is_root or not run.best.exists():
                return result
            run.record_test(result.test, "early_stopped" if self.stopped_early else "completed", state.epoch)
            self.rep.test(result.test)
        return result

    def interrupted(self, finished: bool) -> BaseException:
        """What Ctrl-C becomes: :class:`Interrupted`, saying what is saved and how to resume."""
        if self.dir is None:
            return KeyboardInterrupt()
        if finished:
            return Interrupted(f"interrupted after training finished; {self.dir.best} holds epoch "
                               f"{self.state.best_epoch}; mlpnet evaluate --model {self.dir.best} gives its test metrics")
        # Files are replaced atomically, so whatever the interrupt cut short is still whole.
        return Interrupted(_interrupted_message(self.state.epoch + 1, self.dir))

    # -- helpers ------------------------------------------------------------------------------

    def _evaluate(self, split) -> tuple[float, float]:
        """Mean loss and accuracy on ``split``; under MPI each rank evaluates its part of the rows."""
        def part(lo: int, hi: int) -> tuple[float, float]:
            rows = split if (lo, hi) == (0, len(split)) else data.Split(split.x[lo:hi], split.y[lo:hi])
            return loss_and_score(self.model, self.loss, rows, self.ds.scale, self.ds.task)  # streamed: one process

        return mean_over_ranks(self.comm, len(split), part)

    def _diverge(self, what: str, epoch: int, batch: int, total: int):
        raise TrainingError(diverged_message(what, epoch, batch, total, self.dir.last if self.dir else None,
                                             self.state.epoch if self.dir else 0, self.cfg.optimizer.lr))


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


def _task_asked(cfg: Config) -> str:
    """The task to read the data for: ``task`` as set, else the one an explicit regression or
    multilabel loss implies, else ``auto`` (the data decides)."""
    if cfg.task != "auto" or cfg.loss == "auto":
        return cfg.task
    implied = losses.LOSSES[cfg.loss].task
    return implied if implied != "classification" else "auto"


def _resolve_task(cfg: Config, ds: Dataset) -> None:
    """Record the task the data turned out to hold, its loss and its monitor in the config (so the
    saved config says what the run did); refuse a loss of another task."""
    if cfg.loss != "auto" and losses.LOSSES[cfg.loss].task != ds.task:
        valid = [k for k, c in losses.LOSSES.items() if c.task == ds.task]
        raise ConfigError(f"loss: {cfg.loss!r} is a {losses.LOSSES[cfg.loss].task} loss, but the data holds "
                          f"{ds.task} targets (task: {cfg.task}); use {' or '.join(valid)} or auto")
    if cfg.label_smoothing and ds.task != "classification":
        raise ConfigError(f"label_smoothing: applies to classes, and the data holds {ds.task} targets")
    cfg.task = ds.task
    cfg.loss = cfg.loss_name
    cfg.model.init = cfg.init_name
    cfg.train.monitor = cfg.monitor
    if cfg.train.monitor.endswith("_r2") and ds.task != "regression":
        raise ConfigError(f"train.monitor: {cfg.train.monitor} scores regression, and the data holds {ds.task} "
                          "targets; use val_accuracy or val_loss")
    if cfg.train.monitor.endswith("_accuracy") and ds.task == "regression":
        raise ConfigError("train.monitor: val_accuracy scores classes, and the data holds regression targets; "
                          "use val_r2 or val_loss")


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
