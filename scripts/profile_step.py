"""Where a training step's time goes, against the matrix-product floor.

Trains 784-128-64-10 (ReLU, softmax + cross-entropy, Adam, batches of 128) on
Fashion-MNIST with mlpnet's own parts, timing each phase of every step, and prints:

* per batch, inside the training loop: gather, forward, loss, backward, Adam, and the
  eight matrix products alone (the floor) on the same buffers, measured in this process;
* the step time of every epoch, and the drift (median of the last 3 epochs over the
  fastest): with ``--no-flush`` the optimizer never flushes tiny moments to zero, so
  subnormal numbers build up in Adam's state and the later epochs slow down;
* the time left for everything that is not a matrix product if an epoch is to take at
  most 1.6x the floor, beside what each non-product phase costs on its own, with warm
  caches (a lower bound for it), and the cost of the subnormal flush;
* how much slower this CPU computes on subnormal numbers than on normal ones (the cost the
  flush avoids; from about 1x to tens of times, depending on the processor);
* with ``--augment``: what the batch augmentation (mlpnet.data.augment) adds per batch,
  against a training step of configs/fashion-mnist.yaml;
* with ``--seed-net``: the seed network (configs/mnist-seed.yaml) trained one sample at a
  time, its epoch times, drift and a census of subnormal numbers;
* with ``--threads-test``: what handing work to a second Python thread costs, how much
  element-wise work two threads get through, and Adam split across two threads.

Usage::

    python scripts/profile_step.py                 # all BLAS threads, 10 epochs
    python scripts/profile_step.py --no-flush      # the same without the subnormal flush
    python scripts/profile_step.py --threads 1
    python scripts/profile_step.py --threads-test

Absolute times drift on shared machines; compare figures from one run only, and run it
twice: a slow spell of the host shows as a much larger step time in one of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from bench import step_products  # scripts/bench.py, beside this file
from mlpnet import config, data
from mlpnet.data import dataset as splits, locate as sources
from mlpnet.data.augment import Augmenter
from mlpnet.nn import losses, optimizers as optim
from mlpnet.nn.model import MLP, Architecture
from mlpnet.train import build

SIZES = (784, 128, 64, 10)
BATCH = 128
PHASES = ("gather", "forward", "loss", "backward", "adam")
FLOOR_TARGET = 1.6
FASHION_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "fashion-mnist.yaml"
SEED_CONFIG = FASHION_CONFIG.with_name("mnist-seed.yaml")
CLOCK = time.perf_counter
"""What every phase is timed with; ``--cpu-clock`` makes it the process's CPU time."""
FLUSH_EVERY = optim.FLUSH_EVERY
"""The library's flush period (``--no-flush`` changes the library's own, not this)."""


class Step:
    """One training step cut into phases, built from mlpnet's model, loss, optimizer and batcher."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.model = MLP(Architecture(SIZES)).init("he", np.random.default_rng(0))
        self.opt = optim.build("adam", self.model.n_params, self.model.n_weights)
        self.loss = losses.get("cross_entropy")
        self.batcher = data.Batcher(splits.Split(x, y), 1 / 255, BATCH)
        self.rng = np.random.default_rng(1)
        self.xb = self.yb = self.out = None

    def gather(self, idx):
        self.xb, self.yb = self.batcher.gather(idx)

    def forward(self):
        self.out = self.model.forward(self.xb, train=True, rng=self.rng)

    def loss_(self):
        self.loss.value(self.out, self.yb)
        np.count_nonzero(self.out.argmax(axis=1) == self.yb)
        self.loss.delta(self.out, self.yb, self.model.grad_output, self.model.output_delta(len(self.yb)))

    def backward(self):
        self.model.backward(self.model.output_delta(len(self.yb)))

    def adam(self):
        self.opt.step(self.model.params, self.model.grads, 1e-3)

    def products(self):
        """The eight matrix products of the step (3 forward, 3 weight-gradient, 2 delta), nothing
        else, on the model's own buffers: the same products as bench.py's floor."""
        m, ws = self.model, self.model._workspace(BATCH)
        step_products(self.xb, m.weights, ws.z, ws.delta, m.grad_weights)


def in_loop(step: Step, n: int, epochs: int) -> tuple[dict[str, float], float, float, list[float]]:
    """Median per-batch seconds of each phase over ``epochs`` epochs and of the products alone
    (timed after each epoch), the median over epochs of step time / products time, and the
    mean step time of every epoch."""
    rng, pc = np.random.default_rng(2), CLOCK
    per_epoch, floor = [], []
    calls = (step.forward, step.loss_, step.backward, step.adam)
    nb = n // BATCH
    for _ in range(epochs):
        order = rng.permutation(n)
        acc = np.zeros(len(PHASES))
        for b in range(nb):
            t = [pc()]
            step.gather(order[b * BATCH:(b + 1) * BATCH])
            t.append(pc())
            for call in calls:
                call()
                t.append(pc())
            acc += np.diff(t)
        per_epoch.append(acc / nb)
        t0 = pc()
        for _ in range(nb):
            step.products()
        floor.append((pc() - t0) / nb)
    med = np.median(per_epoch, axis=0)
    paired = statistics.median(e.sum() / f for e, f in zip(per_epoch, floor))
    return dict(zip(PHASES, med)), statistics.median(floor), paired, [float(e.sum()) for e in per_epoch]


def subnormals(a: np.ndarray) -> int:
    """How many entries of ``a`` are subnormal (non-zero and below the smallest normal number)."""
    m = np.abs(a)
    return int(np.count_nonzero((m > 0) & (m < np.finfo(a.dtype).tiny)))


def subnormal_penalty(n: int = 110_000, reps: int = 300) -> dict[str, float]:
    """How many times longer Adam's element-wise operations take on an all-subnormal array than
    on a normal one, on this CPU (best of ``reps``): the cost the optimizer's flush avoids."""
    normal, tiny = np.full(n, 1e-3, np.float32), np.full(n, 1e-39, np.float32)
    out = np.empty(n, np.float32)
    ops = {"multiply": lambda a: np.multiply(a, np.float32(0.9), out=out), "sqrt": lambda a: np.sqrt(a, out=out),
           "divide": lambda a: np.divide(a, np.float32(1.5), out=out)}
    ratios = {}
    for name, op in ops.items():
        best = {}
        for label, a in (("normal", normal), ("subnormal", tiny)):
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                op(a)
                times.append(time.perf_counter() - t0)
            best[label] = min(times)
        ratios[name] = best["subnormal"] / best["normal"]
    return ratios


def augment_cost(x: np.ndarray, size: int, reps: int = 200) -> dict[str, float]:
    """Median seconds per batch of ``size`` of the augmentations a config can ask for, on real images."""
    rng = np.random.default_rng(4)
    batch = x[:size].astype(np.float32) / 255
    out = {}
    affine = {"shift": 2, "rotate": 8, "scale": 0.08}
    for name, kw in (("shift 2", {"shift": 2}), ("shift 1 + mirror", {"shift": 1, "hflip": True}),
                     ("shift 2, rotate 8, scale 0.08", affine),
                     ("the same, bilinear", {**affine, "interpolation": "bilinear"})):
        aug = Augmenter(28, 28, size, **kw)
        times = []
        for _ in range(reps):
            xb = batch.copy()
            t0 = CLOCK()
            aug(xb, rng)
            times.append(CLOCK() - t0)
        out[name] = statistics.median(times)
    return out


def fashion_step(x: np.ndarray, y: np.ndarray, cfg: config.Config, reps: int = 200) -> float:
    """Median seconds of one training step (the trainer's own) of a config's network, optimizer,
    dropout, label smoothing and batch size, gather included: what augmentation is weighed against."""
    size = cfg.train.batch_size
    rng = np.random.default_rng(5)
    model = build.build_model(cfg, 784, 10).init(cfg.model.init, rng)
    step = build.build_step(cfg, model, build.build_optimizer(cfg, model))
    batcher = data.Batcher(splits.Split(x, y), 1 / 255, size)
    times = []
    for _ in range(reps):
        t0 = CLOCK()
        xb, yb = batcher.gather(rng.integers(0, len(y), size))
        step(xb, yb, cfg.optimizer.lr, rng)
        times.append(CLOCK() - t0)
    return statistics.median(times)


def drift(times: list[float]) -> float:
    """Median of the last 3 epoch times over the fastest (bench.py's drift, for any number of epochs)."""
    return statistics.median(times[-3:]) / min(times)


def alternated(run_a, run_b, reset_b, rounds: int = 21) -> float:
    """Median over ``rounds`` of (time of ``run_a``) / (time of ``run_b``), the two run back to
    back in alternating order: a slow spell of the machine slows both sides of a round alike,
    so the ratio shows only what differs between them. ``reset_b`` (untimed) puts b's state
    back before each of its runs, so b stays as new however many rounds there are."""
    ratios = []
    for r in range(rounds):
        pair = (run_a, run_b) if r % 2 == 0 else (run_b, run_a)
        t = []
        for run in pair:
            if run is run_b:
                reset_b()
            t0 = CLOCK()
            run()
            t.append(CLOCK() - t0)
        ta, tb = t if r % 2 == 0 else t[::-1]
        ratios.append(ta / tb)
    return statistics.median(ratios)


def state_drift(trained: Step, x: np.ndarray, y: np.ndarray, batches: int = 50) -> float:
    """Steps on the state after the whole run against steps on a fresh state, alternated.

    The drift of epoch times mixes a slowdown of the run's own (subnormal numbers building
    up in its state) with the machine's speed, which on a shared virtual machine swings by
    more than any slowdown we look for. Timing a few dozen steps from each state in turn
    keeps only the first: a ratio near 1.00 means the trained state costs what a new one does.
    The new state is put back before each of its turns, so it never ages past 50 steps.
    """
    fresh = Step(x, y)
    idx = np.random.default_rng(6).integers(0, len(y), (batches, BATCH))
    params, state = fresh.model.params.copy(), {k: v.copy() for k, v in fresh.opt.state.items()}

    def reset():
        fresh.model.params[...] = params
        for k, v in state.items():
            fresh.opt.state[k][...] = v
        fresh.opt.t = 0

    def steps(step):
        def run():
            for b in idx:
                step.gather(b)
                step.forward()
                step.loss_()
                step.backward()
                step.adam()
        return run

    return alternated(steps(trained), steps(fresh), reset)


def seed_net_epochs(x: np.ndarray, y: np.ndarray, epochs: int, n: int = 5000) -> tuple[list[float], int, float]:
    """Per-epoch seconds (on ``CLOCK``) of configs/mnist-seed.yaml's network trained one
    sample at a time on ``n`` images, through the trainer's own step (the single-sample SGD
    path); how many subnormal numbers the weights and the path's buffers hold at the end;
    and the time of samples on the trained network over a new one, alternated."""
    cfg = config.load(SEED_CONFIG)
    rng = np.random.default_rng(0)
    model = build.build_model(cfg, 784, 10).init(cfg.model.init, rng)
    step = build.build_step(cfg, model, build.build_optimizer(cfg, model))
    batcher = data.Batcher(splits.Split(x[:n], y[:n]), 1 / 255, 1)
    times = []
    with threadpool_limits(1):  # as the trainer runs this path
        for _ in range(epochs):
            order = rng.permutation(n)
            t0 = CLOCK()
            for k in range(n):
                xb, yb = batcher.gather(order[k:k + 1])
                step(xb, yb, cfg.optimizer.lr, rng)
            times.append(CLOCK() - t0)
    buffers = [*model.weights, *model.biases, *step.one._z, *step.one._delta, *step.one._outer]
    sub = sum(subnormals(b) for b in buffers)
    # The state after the run against a new network, 500 samples each, alternated.
    fresh_model = build.build_model(cfg, 784, 10).init(cfg.model.init, np.random.default_rng(1))
    fresh = build.build_step(cfg, fresh_model, build.build_optimizer(cfg, fresh_model))
    new_params = fresh_model.params.copy()

    def reset():
        fresh_model.params[...] = new_params

    rows = [batcher.gather(np.array([i])) for i in range(500)]
    rows = [(xb.copy(), yb.copy()) for xb, yb in rows]

    def samples(stepper):
        def run():
            for xb, yb in rows:
                stepper(xb, yb, cfg.optimizer.lr, rng)
        return run

    with threadpool_limits(1):
        paired = alternated(samples(step), samples(fresh), reset)
    return times, sub, paired


def alone(step: Step, n: int, reps: int = 300) -> dict[str, float]:
    """Best per-call seconds of the non-product phases repeated back to back (warm caches)."""
    idx = np.random.default_rng(3).permutation(n)[:BATCH]
    saved = step.model.grads.copy()

    def adam():
        step.model.grads[...] = saved  # Adam squares grads in place
        step.adam()

    def copy():
        step.model.grads[...] = saved

    def best(f):
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
        return min(times)

    out = {"gather": best(lambda: step.gather(idx)), "loss": best(step.loss_),
           "adam": best(adam) - best(copy),
           "flush": best(lambda: step.opt.flush_tiny(step.model.params)) / FLUSH_EVERY}
    return out


def paired_medians(f, g, trials: int) -> tuple[float, float]:
    """Median seconds of ``f`` and of ``g`` over ``trials`` calls each, taking turns."""
    tf, tg = [], []
    for _ in range(trials):
        for fn, times in ((f, tf), (g, tg)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(tf), statistics.median(tg)


class Helper:
    """A second Python thread that runs one job at a time: ``both(f, g)`` runs ``f`` on it
    and ``g`` on the calling thread, and returns when both are done."""

    def __init__(self):
        self._go, self._done, self._job = threading.Event(), threading.Event(), None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            self._go.wait()
            self._go.clear()
            self._job()
            self._done.set()

    def both(self, f, g=None):
        self._job = f
        self._done.clear()
        self._go.set()
        if g is not None:
            g()
        self._done.wait()


def thread_test(step: Step) -> list[str]:
    """Handing work to a second Python thread: its cost, and whether it pays for half of Adam."""
    helper, lines = Helper(), []
    t0 = time.perf_counter()
    for _ in range(2000):
        helper.both(lambda: None)
    per = (time.perf_counter() - t0) / 2000
    lines.append(f"hand an empty job to a second thread and wait for it: {per * 1e6:6.1f} us")

    a, b = np.ones(110_000, np.float32), np.ones(110_000, np.float32)

    def passes(buf, k=100):
        for _ in range(k):
            np.multiply(buf, 1.0, out=buf)

    one, two = paired_medians(lambda: (passes(a), passes(b)), lambda: helper.both(lambda: passes(b), lambda: passes(a)),
                              31)
    lines.append(f"the same element-wise passes on two threads at once vs one after the other: {one / two:.2f}x "
                 "the throughput (median of 31 alternated trials)")

    m, opt = step.model, step.opt
    half = m.n_params // 2 // 16 * 16
    saved = m.grads.copy()
    st = opt.state

    def part(lo, hi):
        optim._adam_update(m.params[lo:hi], m.grads[lo:hi], st["m"][lo:hi], st["v"][lo:hi], opt._tmp[lo:hi],
                           opt.beta1, opt.beta2, 1e-4, 1e-8)

    def serial():
        m.grads[...] = saved
        part(0, m.n_params)

    def split():
        m.grads[...] = saved
        helper.both(lambda: part(0, half), lambda: part(half, m.n_params))

    t_serial, t_split = paired_medians(serial, split, 501)
    lines.append(f"Adam over {m.n_params:,} parameters: {t_serial * 1e6:.1f} us on one thread, "
                 f"{t_split * 1e6:.1f} us split across two (medians of 501 alternated trials)")
    return lines


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: all cores)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads-test", action="store_true", help="also time hand-offs to a second Python thread")
    p.add_argument("--no-flush", action="store_true",
                   help="never flush tiny optimizer state to zero (shows the slowdown subnormal numbers cause)")
    p.add_argument("--augment", action="store_true", help="also time the batch augmentations")
    p.add_argument("--seed-net", action="store_true",
                   help="also train the seed network one sample at a time (5,000 images, --epochs epochs) and "
                        "print its epoch times and drift")
    p.add_argument("--cpu-clock", action="store_true",
                   help="time the training loop with the process's CPU clock instead of the wall clock: steadier on "
                        "a machine busy with other work (use with --threads 1)")
    args = p.parse_args(argv)
    if args.cpu_clock:
        global CLOCK
        CLOCK = time.process_time
    if args.no_flush:
        optim.FLUSH_EVERY = 10**12
    x_tr, y_tr, _, _ = sources.load_named("fashion-mnist", progress=False)
    x, y = np.ascontiguousarray(x_tr.reshape(len(x_tr), -1)), y_tr.astype(np.int64)
    step = Step(x, y)
    with threadpool_limits(args.threads):
        phases, floor, paired, epochs = in_loop(step, len(y), args.epochs)
        state_sub = sum(subnormals(v) for v in step.opt.state.values())
        trained_vs_fresh = state_drift(step, x, y)
        warm = alone(step, len(y))
        lines = [f"784-128-64-10, batch {BATCH}, Adam, BLAS threads: {args.threads or 'all'}; microseconds per batch"
                 + (" (training loop on the CPU clock)" if args.cpu_clock else ""),
                 "", "inside the training loop (median of epochs):"]
        lines += [f"  {k:9s} {v * 1e6:7.1f}" for k, v in phases.items()]
        total = sum(phases.values())
        lines += [f"  {'step':9s} {total * 1e6:7.1f}",
                  f"  {'products':9s} {floor * 1e6:7.1f}  (the 8 matrix products alone, same buffers)",
                  f"  step / products: {total / floor:.2f}x (median of per-epoch ratios: {paired:.2f}x)", "",
                  f"step per epoch ({'no flush' if args.no_flush else f'flush every {optim.FLUSH_EVERY} steps'}): "
                  + " ".join(f"{e * 1e6:.0f}" for e in epochs),
                  f"  drift (median of the last 3 epochs / fastest): "
                  f"{drift(epochs):.2f}; subnormal numbers in Adam's state at the "
                  f"end: {state_sub:,}",
                  f"  steps from the state after the run / from a new state, 50 batches each, alternated: "
                  f"{trained_vs_fresh:.2f}x", "",
                  f"left for everything but the products at {FLOOR_TARGET}x: {(FLOOR_TARGET - 1) * floor * 1e6:.1f}",
                  "non-product phases alone, warm caches (best of 300):"]
        lines += [f"  {k:9s} {v * 1e6:7.1f}" + ("  (per step: one flush every "
                                                f"{FLUSH_EVERY} steps)" if k == "flush" else "")
                  for k, v in warm.items()]
        lines.append(f"  sum      {sum(warm.values()) * 1e6:7.1f}  (no element-wise layer work counted)")
        lines.append("subnormal / normal time per element on this CPU (best of 300): "
                     + ", ".join(f"{k} {v:.1f}x" for k, v in subnormal_penalty().items()))
        if args.augment:
            cfg = config.load(FASHION_CONFIG)
            size = cfg.train.batch_size
            fashion = fashion_step(x, y, cfg)
            lines += ["", f"batch augmentation (mlpnet.data.augment), median per batch of {size}, and its share of a "
                      f"training step of configs/fashion-mnist.yaml ({fashion * 1e6:.0f} us):"]
            lines += [f"  {k:30s} {v * 1e6:7.1f}  {v / fashion:6.1%}" for k, v in augment_cost(x, size).items()]
        if args.seed_net:
            times, sub, paired = seed_net_epochs(x, y, args.epochs)
            lines += ["", "seed network (configs/mnist-seed.yaml), one sample at a time, 5,000 images; seconds per epoch:",
                      "  " + " ".join(f"{t:.3f}" for t in times),
                      f"  drift (median of the last 3 epochs / fastest): {drift(times):.2f}; "
                      f"subnormal numbers in its weights and buffers at the end: {sub:,}",
                      f"  trained network / new network, 500 samples each, alternated: {paired:.2f}x"]
        if args.threads_test:
            lines += ["", *thread_test(step)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
