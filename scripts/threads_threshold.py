"""Where more BLAS threads start to pay for a training step: one thread against every core.

    python scripts/threads_threshold.py [--repeat 200]

For networks from tiny to MNIST-sized, times one training step (forward, loss, backward,
Adam) of mlpnet's own code with one BLAS thread and with every core, in the same run, and
prints the multiply-adds of a batch's forward pass beside the ratio. ``mlpnet.train.sizing``'s
``SMALL_STEP_MACS`` (one thread below it when threads are left unset) is chosen from this.
Take it on a quiet machine: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from mlpnet.nn.losses import LOSSES
from mlpnet.nn.model import MLP, Architecture
from mlpnet.nn.optimizers import OPTIMIZERS
from mlpnet.train.sizing import SMALL_STEP_MACS

CASES = [((4, 16, 3), 16), ((64, 100, 10), 200), ((30, 100, 2), 200), ((64, 256, 10), 200),
         ((100, 256, 128, 10), 128), ((784, 64, 10), 128), ((784, 128, 64, 10), 128), ((784, 256, 128, 10), 256)]


def step_seconds(sizes, batch, threads, repeat, rng) -> float:
    model = MLP(Architecture(sizes, "relu", "softmax", 0.0))
    loss = LOSSES["cross_entropy"]()
    opt = OPTIMIZERS["adam"](model.params.size, model.n_weights)
    x = rng.normal(size=(batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    best = float("inf")
    with threadpool_limits(limits=threads, user_api="blas"):
        for _ in range(3):  # best of three runs of `repeat` steps
            t = time.perf_counter()
            for _ in range(repeat):
                out = model.forward(x, train=True, rng=rng)
                delta = model.output_delta(batch)
                loss.delta(out, y, model.grad_output, delta, None)
                model.backward(delta)
                opt.step(model.params, model.grads, 1e-3)
            best = min(best, (time.perf_counter() - t) / repeat)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    rng = np.random.default_rng(0)
    print(f"{cores} cores, load average {os.getloadavg()[0]:.2f}; SMALL_STEP_MACS = {SMALL_STEP_MACS:,}")
    print("| network | batch | forward multiply-adds | 1 thread | all cores | all / 1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for sizes, batch in CASES:
        macs = batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        one = step_seconds(sizes, batch, 1, args.repeat, rng)
        every = step_seconds(sizes, batch, cores, args.repeat, rng)
        print(f"| {'-'.join(map(str, sizes))} | {batch} | {macs:,} | {one * 1e6:.0f} µs | {every * 1e6:.0f} µs "
              f"| {every / one:.2f} |")


if __name__ == "__main__":
    main()
