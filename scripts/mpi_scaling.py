"""Data-parallel scaling: measure a training step and an allreduce here, predict K hosts.

    python scripts/mpi_scaling.py [--steps 30] [--json out.json]

What it measures (on this machine, one BLAS thread per process):

1. the data-parallel step under ``mpirun -n 1`` and ``mpirun -n 2``: time per step and the
   share spent in the gradient Allreduce, for the default net (784-256-128-10) and a wide
   one (784-2048-2048-10), global batch 128, synthetic data;
2. Allreduce time for several message sizes between 2 processes (the fastest of many
   repeats), fitted as ``t = alpha + beta * bytes`` (least squares);
3. compute time of one step (forward, backward, Adam) for the local batch sizes
   128 / K, K = 1..64, in one process (the fastest of ``--steps`` repeats: on a shared
   machine the minimum is the measurement least disturbed by other processes).

What it predicts: epoch time (55,000 samples, global batch 128) on K hosts joined by a
10 or 25 Gb/s network, as ``steps x (compute(128 / K) + allreduce(K, 4 x params bytes))``
with a ring allreduce, ``2 (K - 1) alpha_net + 2 (K - 1) / K x bytes / bandwidth``. The
per-message latency ``alpha_net`` of a TCP network is not measurable here; it is taken as
``--net-latency`` (default 30 us), and the bandwidth is the line rate (an upper bound:
real Allreduce reaches maybe 70-90 % of it). The script is a tool: the package never imports it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

NETS = {"default 784-256-128-10": (784, 256, 128, 10), "wide 784-2048-2048-10": (784, 2048, 2048, 10)}
BATCH = 128
N_TRAIN = 55_000
HOSTS = (1, 2, 4, 8, 16, 32, 64)
NETWORKS_GBPS = (10, 25)


def _mlpnet():
    from mlpnet.nn import losses, model, optimizers

    return model, losses, optimizers


def _step_fn(sizes, local_batch, comm, global_batch):
    """A closure running one data-parallel step; returns (compute seconds, allreduce seconds)."""
    model_mod, losses, optimizers = _mlpnet()
    m = model_mod.MLP(model_mod.Architecture(tuple(sizes)))
    rng = np.random.default_rng(0)
    m.init("he", rng)
    opt = optimizers.build("adam", m.n_params, m.n_weights, dtype=m.dtype)
    loss = losses.get("cross_entropy")
    x = rng.random((max(local_batch, 1), sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], max(local_batch, 1))
    x, y = x[:local_batch], y[:local_batch]

    def step():
        t0 = time.perf_counter()
        out = m.forward(x, train=True, rng=rng)
        delta = m.output_delta(len(y))
        loss.delta(out, y, m.grad_output, delta)
        delta *= len(y) / global_batch  # local mean -> share of the global mean
        m.backward(delta)
        t1 = time.perf_counter()
        if comm is not None:
            comm.allreduce_(m.grads)
        t2 = time.perf_counter()
        opt.step(m.params, m.grads, 1e-3)
        t3 = time.perf_counter()
        return (t1 - t0) + (t3 - t2), t2 - t1

    return m, step


def worker(steps: int) -> None:
    """Run under mpirun: time the data-parallel step, and Allreduce by message size."""
    from threadpoolctl import threadpool_limits

    from mlpnet.distributed import mpi

    comm = mpi.world()
    out = {"size": comm.size, "nets": {}, "allreduce": []}
    with threadpool_limits(1, user_api="blas"):
        for name, sizes in NETS.items():
            lo, hi = comm.part(BATCH)
            m, step = _step_fn(sizes, hi - lo, comm, BATCH)
            for _ in range(3):
                step()
            comp, ar, wall = [], [], []
            for _ in range(steps):
                comm.allreduce_(np.zeros(1))  # line the ranks up, so waiting is not counted as Allreduce
                t = time.perf_counter()
                c, a = step()
                wall.append(time.perf_counter() - t)
                comp.append(c)
                ar.append(a)
            out["nets"][name] = {"params": m.n_params, "bytes": 4 * m.n_params,
                                 "step_s": float(np.median(wall)), "step_min_s": float(np.min(wall)),
                                 "compute_s": float(np.median(comp)), "allreduce_s": float(np.median(ar)),
                                 "allreduce_min_s": float(np.min(ar))}
        if comm.size > 1:
            for n_bytes in (4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20, 32 << 20):
                buf = np.ones(n_bytes // 4, np.float32)
                reps = max(5, min(200, (64 << 20) // n_bytes))
                comm.allreduce_(buf)
                times = []
                for _ in range(reps):
                    comm.allreduce_(np.zeros(1))
                    t = time.perf_counter()
                    comm.allreduce_(buf)
                    times.append(time.perf_counter() - t)
                # the fastest repeat: the least disturbed by the other processes on a shared machine
                out["allreduce"].append({"bytes": n_bytes, "s": float(np.min(times))})
    if comm.is_root:
        print(json.dumps(out))


def compute_by_local_batch(steps: int) -> dict:
    """One-process, one-thread compute time of a step for local batches 128 / K."""
    from threadpoolctl import threadpool_limits

    res = {}
    with threadpool_limits(1, user_api="blas"):
        for name, sizes in NETS.items():
            res[name] = {}
            for k in HOSTS:
                b = max(BATCH // k, 1)
                _, step = _step_fn(sizes, b, None, BATCH)
                for _ in range(3):
                    step()
                res[name][k] = float(np.min([step()[0] for _ in range(steps)]))
    return res


def _mpirun(k: int, steps: int) -> dict:
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl="self,vader")
    cmd = ["mpirun", "-n", str(k), "--oversubscribe", sys.executable, __file__, "--worker", "--steps", str(steps)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        sys.exit(f"mpirun -n {k} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def fit(points: list[dict]) -> tuple[float, float]:
    """Least-squares ``t = alpha + beta * bytes`` over the measured Allreduce times (relative residuals)."""
    x = np.array([p["bytes"] for p in points], float)
    t = np.array([p["s"] for p in points], float)
    beta, alpha = np.polyfit(x, t, 1, w=1 / t)  # relative errors: small messages count as much as large
    return float(alpha), float(beta)


def ring_allreduce_s(k: int, n_bytes: int, gbps: float, latency: float) -> float:
    """Ring allreduce: 2 (K-1) messages of bytes / K each way (reduce-scatter, then all-gather)."""
    if k == 1:
        return 0.0
    return 2 * (k - 1) * latency + 2 * (k - 1) / k * n_bytes / (gbps * 1e9 / 8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--net-latency", type=float, default=30e-6, help="seconds per message on the network")
    ap.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    args = ap.parse_args()
    if args.worker:
        worker(args.steps)
        return
    print(f"load before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", file=sys.stderr)
    runs = {k: _mpirun(k, args.steps) for k in (1, 2)}
    alpha, beta = fit(runs[2]["allreduce"])
    compute = compute_by_local_batch(args.steps)
    print(f"load after: {os.getloadavg()[0]:.2f}", file=sys.stderr)

    print("## Measured here (one BLAS thread per process, global batch 128)\n")
    print("| net | params | bytes/step | ranks | step ms, median (min) | allreduce ms/step, median (min) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in NETS:
        for k, r in runs.items():
            n = r["nets"][name]
            print(f"| {name} | {n['params']:,} | {n['bytes'] / 1e6:.2f} MB | {k} | {n['step_s'] * 1e3:.2f} "
                  f"({n['step_min_s'] * 1e3:.2f}) | {n['allreduce_s'] * 1e3:.3f} ({n['allreduce_min_s'] * 1e3:.3f}) |")
    print(f"\nAllreduce between 2 processes here (shared memory): alpha = {alpha * 1e6:.1f} us, "
          f"beta = {beta * 1e9:.3f} ns/byte ({1 / beta / 1e9:.2f} GB/s); points: "
          + ", ".join(f"{p['bytes'] >> 10} KiB {p['s'] * 1e3:.3f} ms" for p in runs[2]["allreduce"]))
    steps = -(-N_TRAIN // BATCH)
    print(f"\n## Predicted epoch time on K hosts ({N_TRAIN:,} samples, {steps} steps of global batch {BATCH}; "
          f"ring allreduce, {args.net_latency * 1e6:.0f} us per message)\n")
    print("| net | network | " + " | ".join(f"K={k}" for k in HOSTS) + " |")
    print("|---|---|" + "---:|" * len(HOSTS))
    predictions = {}
    for name in NETS:
        n_bytes = runs[1]["nets"][name]["bytes"]
        for g in NETWORKS_GBPS:
            row = []
            for k in HOSTS:
                t = steps * (compute[name][k] + ring_allreduce_s(k, n_bytes, g, args.net_latency))
                row.append(t)
            predictions[f"{name} @ {g} Gb/s"] = row
            best = int(np.argmin(row))
            cells = [f"**{t:.2f}**" if i == best else f"{t:.2f}" for i, t in enumerate(row)]
            print(f"| {name} | {g} Gb/s | " + " | ".join(cells) + " |")
    print("\nseconds per epoch; bold: the fastest K. Compute per step by local batch (ms): "
          + "; ".join(f"{name}: " + ", ".join(f"K={k} {compute[name][k] * 1e3:.2f}" for k in HOSTS)
                      for name in NETS))
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "alpha": alpha, "beta": beta, "compute": compute,
                                         "predictions": predictions, "hosts": HOSTS}, indent=1))


if __name__ == "__main__":
    main()
