"""Benchmark mlpnet against PyTorch (CPU) and scikit-learn on Fashion-MNIST.

Three sections, each printing ratios measured within this one run (absolute times drift
on shared machines; ratios taken from alternated runs much less). A training run counts
as disturbed, and is repeated up to ``--retries`` times, when other processes on this
machine used CPU meanwhile (``/proc/stat``, ``--max-others``) or when the machine itself
ran slow: every worker process times a 5 ms probe of element-wise passes and a matrix
product on its BLAS threads before and after its work, and a run whose probe took more
than ``--max-slow`` times the fastest probe seen is repeated too (on a virtual machine a
busy host slows everything down without any of it showing in ``/proc/stat``). Repeats
wait a few seconds first, since such slow spells last a while; a run still disturbed
after its repeats is shown but left out of the medians:

* batch 128: 784-128-64-10 ReLU, softmax + cross-entropy, Adam (lr 1e-3), trained by
  mlpnet, PyTorch (default and fused Adam) and scikit-learn's MLPClassifier where
  installed, the hand-written NumPy loop of ``tests/train/test_perf.py`` (with pytest), and
  the bare matrix multiplications of one epoch (the floor). Every
  training run is its own subprocess, so peak memory (``ru_maxrss``) is comparable, and
  the implementations take turns, repetition after repetition.
* batch 1: the seed article's 784-128-64-10 sigmoid network, squared error, plain SGD,
  one sample at a time, on the first ``--sample-n`` training images: mlpnet and PyTorch.
* startup: a cached dataset load, ``mlpnet --help``, ``mlpnet predict one.png`` (when
  this checkout has ``predict``), and evaluating the 10k test images.

Usage::

    python scripts/bench.py                  # everything, 5 repetitions of 10 epochs
    python scripts/bench.py --quick          # a smaller, faster run
    python scripts/bench.py --markdown       # also print a table for the README
    python scripts/bench.py --threads 1 --only batch128

The package never imports this file; PyTorch and scikit-learn are optional extras.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

HIDDEN = (128, 64)
LR_ADAM = 1e-3
LR_SGD = 0.5  # configs/mnist-seed.yaml
IMPLS_128 = ("mlpnet", "pytorch", "pytorch-fused", "sklearn", "numpy-ref", "floor")
IMPLS_1 = ("mlpnet", "pytorch")
TARGETS = {"vs_pytorch": 0.60, "vs_pytorch_fused": 0.75, "vs_floor": 1.6, "batch1_vs_pytorch": 0.5,
           "drift": 1.10, "peak_mb": 250, "load_s": 0.2, "help_s": 0.3, "predict_s": 1.0, "eval_s": 0.1}
DRIFT_LAST = 3
"""Drift of a run: the median of its last DRIFT_LAST epochs over its fastest epoch. 1.0 is a
run that keeps its speed; subnormal numbers building up in optimizer state once made
mlpnet's epochs 1.6x slower after two epochs, which short runs never showed."""


# -- workers: each runs in its own process and prints one JSON line ------------------------

def _fashion():
    from mlpnet.data import locate as sources

    x_tr, y_tr, x_te, y_te = sources.load_named("fashion-mnist", progress=False)
    flat = lambda x: np.ascontiguousarray(x.reshape(len(x), -1))  # noqa: E731
    return flat(x_tr), y_tr.astype(np.int64), flat(x_te), y_te.astype(np.int64)


def _mlpnet_config(args, overrides: list[str]):
    from mlpnet import config

    return config.load(None, ["data.val_size=0", f"model.hidden=[{HIDDEN[0]}, {HIDDEN[1]}]", "model.dropout=0.0",
                              "schedule.name=constant", f"train.epochs={args.epochs}",
                              f"train.threads={args.threads if args.threads else 'null'}", *overrides])


def _mlpnet_run(cfg, keep: str | None) -> dict:
    """Train with mlpnet's own trainer; epoch times are its ``seconds`` column (loop only)."""
    from mlpnet import checkpoint, data, evaluate
    from mlpnet.train import api as trainer

    with tempfile.TemporaryDirectory(prefix="mlpnet-bench-") as tmp:
        out = Path(keep or tmp)
        res = trainer.train(cfg, (), out, overwrite=True, progress=False, echo=lambda s: None)
        model = checkpoint.load(out / "last.npz").model
    ds = data.load(cfg.data, cfg.seed, progress=False)
    probs = evaluate.predict_split(model, ds.test, ds.scale)
    return {"epoch_s": [r["seconds"] for r in res.history], "n_train": len(ds.train),
            "accuracy": float(np.mean(probs.argmax(axis=1) == ds.test.y))}


def work_mlpnet(args) -> dict:
    cfg = _mlpnet_config(args, ["data.dataset=fashion-mnist", "model.activation=relu", "model.init=he",
                                "loss=cross_entropy", "optimizer.name=adam", f"optimizer.lr={LR_ADAM}",
                                f"train.batch_size={args.batch_size}"])
    return _mlpnet_run(cfg, args.keep)


def work_mlpnet_sample(args) -> dict:
    cfg = _mlpnet_config(args, ["data.dataset=npz", f"data.path={args.subset}", "model.activation=sigmoid",
                                "model.output=sigmoid", "model.init=uniform", "loss=mse", "optimizer.name=sgd",
                                f"optimizer.lr={LR_SGD}", "train.batch_size=1"])
    return _mlpnet_run(cfg, None)


def _torch_setup(args):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.threads or os.cpu_count())
    return torch


def _torch_net(torch, activation, init: str, out_activation=None):
    """784-128-64-10 with mlpnet's initial weights for seed 0, so accuracies compare like for like."""
    from mlpnet import data
    from mlpnet.nn.model import MLP, Architecture

    sizes = (784, *HIDDEN, 10)
    ref = MLP(Architecture(sizes)).init(init, np.random.default_rng(data.train_seed(0)))
    layers = []
    for i, (w, b) in enumerate(zip(ref.weights, ref.biases)):
        lin = torch.nn.Linear(*w.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))  # torch stores (n_out, n_in)
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(ref.weights) - 1:
            layers.append(activation())
        elif out_activation is not None:
            layers.append(out_activation())
    return torch.nn.Sequential(*layers)


def work_pytorch(args, fused: bool = False) -> dict:
    """The usual PyTorch loop: uint8 data indexed per batch, default (foreach) or fused Adam."""
    torch = _torch_setup(args)
    nn = torch.nn
    x_tr, y_tr, x_te, y_te = (torch.from_numpy(a) for a in _fashion())
    net = _torch_net(torch, nn.ReLU, "he")
    opt = torch.optim.Adam(net.parameters(), lr=LR_ADAM, fused=True if fused else None)
    loss_fn = nn.CrossEntropyLoss()
    n, bs = len(y_tr), args.batch_size
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n)
        loss_sum, correct = 0.0, 0  # tracked per batch, as mlpnet's trainer does
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            xb, yb = x_tr[idx].float().mul_(1.0 / 255.0), y_tr[idx]
            out = net(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(yb)
            correct += int((out.argmax(1) == yb).sum())
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        acc = float((net(x_te.float() / 255.0).argmax(1) == y_te).float().mean())
    return {"epoch_s": times, "n_train": n, "accuracy": acc}


def work_pytorch_sample(args) -> dict:
    """The seed network one sample at a time: loss 1/2 ||a - onehot(y)||^2, plain SGD."""
    torch = _torch_setup(args)
    nn = torch.nn
    with np.load(args.subset) as f:
        x_tr, y_tr, x_te, y_te = (torch.from_numpy(f[k].reshape(len(f[k]), -1) if k[0] == "x" else f[k].astype(np.int64))
                                  for k in ("x_train", "y_train", "x_test", "y_test"))
    net = _torch_net(torch, nn.Sigmoid, "uniform", out_activation=nn.Sigmoid)
    opt = torch.optim.SGD(net.parameters(), lr=LR_SGD)
    eye = torch.eye(10)
    n = len(y_tr)
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        loss_sum, correct = 0.0, 0
        for i in torch.randperm(n).tolist():
            xb, yb = x_tr[i:i + 1].float().mul_(1.0 / 255.0), y_tr[i:i + 1]
            out = net(xb)
            loss = 0.5 * ((out - eye[yb]) ** 2).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            correct += int(out.argmax(1) == yb)
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        acc = float((net(x_te.float() / 255.0).argmax(1) == y_te).float().mean())
    return {"epoch_s": times, "n_train": n, "accuracy": acc}


def work_sklearn(args) -> dict:
    """MLPClassifier, one ``partial_fit`` (one epoch) at a time; it needs the whole set as floats."""
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x_tr, y_tr, x_te, y_te = _fashion()
    x_tr = x_tr.astype(np.float32) / np.float32(255)
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, activation="relu", solver="adam", alpha=0.0,
                        batch_size=args.batch_size, learning_rate_init=LR_ADAM, random_state=0)
    times = []
    with threadpool_limits(args.threads):
        for _ in range(args.epochs):
            t0 = time.perf_counter()
            clf.partial_fit(x_tr, y_tr, classes=np.arange(10))
            times.append(time.perf_counter() - t0)
    acc = float(np.mean(clf.predict(x_te.astype(np.float32) / np.float32(255)) == y_te))
    return {"epoch_s": times, "n_train": len(y_tr), "accuracy": acc}


def work_floor(args) -> dict:
    """The matrix products of one epoch and nothing else: 3 forward, 3 weight-gradient, 2 delta."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    sizes, bs, n = (784, *HIDDEN, 10), args.batch_size, 60000
    f32 = lambda *s: rng.standard_normal(s, dtype=np.float32)  # noqa: E731
    x = f32(bs, sizes[0])
    ws = [f32(i, o) for i, o in zip(sizes[:-1], sizes[1:])]
    zs = [f32(bs, o) for o in sizes[1:]]
    gs = [np.empty_like(w) for w in ws]
    batches = [bs] * (n // bs) + ([n % bs] if n % bs else [])
    times = []
    with threadpool_limits(args.threads):
        for _ in range(args.epochs):
            t0 = time.perf_counter()
            for m in batches:
                step_products(x[:m], ws, zs, zs, gs)  # deltas may reuse the activation buffers
            times.append(time.perf_counter() - t0)
    return {"epoch_s": times, "n_train": n, "accuracy": None}


def step_products(x, ws, zs, ds, gs) -> None:
    """The matrix products of one training step and nothing else, for the ``len(x)`` rows of
    ``x``: forward ``z_i = a_{i-1} W_i``, weight gradients ``a_{i-1}^T d_i`` into ``gs``, and
    deltas ``d_{i-1} = d_i W_i^T`` (none for the input). ``zs``, ``ds`` hold at least
    ``len(x)`` rows per layer; ``ds`` may be ``zs``. The floor of both scripts."""
    n = len(x)
    a = x
    for w, z in zip(ws, zs):
        np.matmul(a, w, out=z[:n])
        a = z[:n]
    for i in range(len(ws) - 1, -1, -1):
        a_prev = x if i == 0 else zs[i - 1][:n]
        np.matmul(a_prev.T, ds[i][:n], out=gs[i])
        if i:
            np.matmul(ds[i][:n], ws[i].T, out=ds[i - 1][:n])


def work_numpy_ref(args) -> dict:
    """The issue's "careful NumPy loop", as written in tests/train/test_perf.py (the CI speed guard's
    reference): preallocated buffers, in-place Adam over one flat buffer, uint8 rows gathered
    per batch. It shows how close plain NumPy gets to the floor without any of mlpnet's
    bookkeeping (schedules, metrics, divergence checks, checkpoints)."""
    from threadpoolctl import threadpool_limits

    sys.path[:0] = [str(args.repo / "tests"), str(args.repo / "tests" / "train")]
    import test_perf as ref

    if args.batch_size != ref.BATCH:
        raise SystemExit(f"numpy-ref runs batches of {ref.BATCH} only")
    x_tr, y_tr, x_te, y_te = _fashion()
    rng = np.random.default_rng(0)
    state = ref.reference_state(rng)
    with threadpool_limits(args.threads):
        times = [ref.reference_epoch(x_tr, y_tr, rng, state) for _ in range(args.epochs)]
    ws, bs = state["views"][:2]
    a = x_te.astype(np.float32) / np.float32(255)
    for i, (w, b) in enumerate(zip(ws, bs)):
        a = a @ w + b
        if i < len(ws) - 1:
            np.maximum(a, 0, out=a)
    return {"epoch_s": times, "n_train": len(y_tr), "accuracy": float(np.mean(a.argmax(axis=1) == y_te))}


def work_load(args) -> dict:
    """A dataset load in a fresh process, after an earlier one filled the decoded cache."""
    from mlpnet.data import locate as sources

    t0 = time.perf_counter()
    sources.load_named("fashion-mnist", progress=False)
    return {"seconds": time.perf_counter() - t0}


def work_eval(args) -> dict:
    """Outputs, accuracy and confusion matrix of a checkpoint on the 10k test images, 5 times."""
    from mlpnet import checkpoint, data, evaluate, metrics

    model = checkpoint.load(args.keep).model
    x_tr, y_tr, x_te, y_te = _fashion()
    test = data.Split(x_te, y_te)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        probs = evaluate.predict_split(model, test, 1.0 / 255.0)
        pred = probs.argmax(axis=1)
        metrics.per_class(metrics.confusion_matrix(y_te, pred, 10))
        times.append(time.perf_counter() - t0)
    return {"seconds": min(times), "median": statistics.median(times), "n": len(y_te)}


def probe_seconds(args) -> float:
    """How fast this process runs right now: a fixed 5 ms mix of element-wise passes and a
    matrix product on the run's BLAS threads, best of 5 after a warm-up."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(110_000, dtype=np.float32) for _ in range(3))
    x, w = rng.standard_normal((128, 784), dtype=np.float32), rng.standard_normal((784, 128), dtype=np.float32)
    z = np.empty((128, 128), np.float32)
    times = []
    with threadpool_limits(args.threads):
        for _ in range(6):
            t0 = time.perf_counter()
            for _ in range(20):
                np.multiply(a, 0.999, out=c)
                np.add(c, b, out=c)
                np.sqrt(np.abs(c, out=c), out=c)
                np.divide(b, c, out=c)
                np.matmul(x, w, out=z)
            times.append(time.perf_counter() - t0)
    return min(times[1:])


WORKERS = {"mlpnet": work_mlpnet, "pytorch": work_pytorch, "pytorch-fused": lambda a: work_pytorch(a, fused=True),
           "sklearn": work_sklearn, "numpy-ref": work_numpy_ref, "floor": work_floor, "mlpnet-1": work_mlpnet_sample,
           "pytorch-1": work_pytorch_sample, "load": work_load, "eval": work_eval,
           "probe": lambda a: {"epoch_s": [], "n_train": 0, "accuracy": None}}


def worker_main(args) -> None:
    # The probe runs in the worker's own process, before and after its work: a slow host,
    # or a process whose BLAS threads landed badly, shows up in it.
    before = probe_seconds(args)
    busy0, mine0, t0 = _machine_busy(), _own_cpu(), time.perf_counter()
    res = WORKERS[args.worker](args)
    wall, busy1 = time.perf_counter() - t0, _machine_busy()
    # CPU that other processes used during the work (not the start-up), in cores.
    res["others"] = max(0.0, (busy1 - busy0) - (_own_cpu() - mine0)) / wall if busy0 is not None else 0.0
    res["probe_s"] = max(before, probe_seconds(args))
    res["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(res))


# -- the parent: runs workers in turn and reports --------------------------------------------

def _env(repo: Path) -> dict:
    """The environment for subprocesses: ``repo``'s mlpnet first on the path, whatever else is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(repo), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _slowness(args, probe_s: float) -> float:
    """How many times its fastest time so far the machine probe took (1.0 = not slow at all)."""
    args.probe_best = min(probe_s, getattr(args, "probe_best", probe_s))
    return probe_s / args.probe_best


def _spawn(name: str, args, **extra) -> dict:
    """Run worker ``name`` in a new process and return what it printed."""
    cmd = [sys.executable, __file__, "--worker", name, "--epochs", str(extra.get("epochs", args.epochs)),
           "--batch-size", str(args.batch_size), "--threads", str(args.threads or 0), "--repo", str(args.repo)]
    for key in ("subset", "keep"):
        if extra.get(key):
            cmd += [f"--{key}", str(extra[key])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(args.repo))
    if proc.returncode != 0:
        raise RuntimeError(f"worker {name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_worker(name: str, args, **extra) -> dict:
    """A training run, and how slow the machine probe found its process (see ``disturbed``)."""
    res = _spawn(name, args, **extra)
    res["slow"] = _slowness(args, res["probe_s"])
    return res


def disturbed(res: dict, args) -> bool:
    return res["others"] > args.max_others or res["slow"] > args.max_slow


def _machine_busy() -> float | None:
    """CPU seconds all processes have used since boot (Linux ``/proc/stat``), None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    """CPU seconds this process (all its threads) has used."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


RETRY_WAIT_S = 5.0
"""Seconds to wait before the first repeat of a disturbed run; the n-th waits n times this."""

_NEEDS = {"pytorch": "torch", "pytorch-fused": "torch", "sklearn": "sklearn", "numpy-ref": "pytest"}
"""The module an implementation needs beyond mlpnet's own dependencies."""


def runnable(impls: list[str], args, log, section: str) -> list[str]:
    """The implementations of ``impls`` that can run here, saying why each other one is skipped."""
    import importlib.util

    ok = []
    for impl in impls:
        module = _NEEDS.get(impl)
        if module is not None and importlib.util.find_spec(module) is None:
            log(f"  {section}: skipping {impl}: {module} is not installed (pip install -e \".[bench]\")")
        elif impl == "numpy-ref" and args.batch_size != 128:
            log(f"  {section}: skipping numpy-ref: the reference loop runs batches of 128 only")
        else:
            ok.append(impl)
    return ok


def alternate(impls: list[str], reps: int, args, log, extra: dict[str, dict] | None = None) -> dict[str, list[dict]]:
    """Run every implementation once per repetition, rotating the order each time."""
    runs: dict[str, list[dict]] = {i: [] for i in impls}
    for r in range(reps):
        for impl in impls[r % len(impls):] + impls[:r % len(impls)]:
            for attempt in range(args.retries + 1):
                res = run_worker(impl, args, **(extra or {}).get(impl, {}))
                bad = disturbed(res, args)
                acc = f", acc {res['accuracy']:.4f}" if res["accuracy"] is not None else ""
                log(f"  rep {r + 1}/{reps} {impl:14s} epochs {' '.join(f'{t:.3f}' for t in res['epoch_s'])} s, "
                    f"peak {res['maxrss_mb']:.0f} MB{acc}, other processes {res['others']:.2f} cores, "
                    f"probe {res['slow']:.2f}x" + (" (disturbed" + (", again)" if attempt < args.retries else ", left out)")
                                                   if bad else ""))
                res["disturbed"] = bad
                if not bad:
                    break
                if attempt < args.retries:
                    time.sleep(RETRY_WAIT_S * (attempt + 1))  # slow spells of the host last seconds
            runs[impl].append(res)
    return runs


def _timed_epochs(run: dict) -> list[float]:
    """A run's epoch times, the first left out as warm-up when there are more."""
    return run["epoch_s"][1:] if len(run["epoch_s"]) > 1 else run["epoch_s"]


def drift(run: dict) -> float | None:
    """Median of the run's last ``DRIFT_LAST`` epochs over its fastest epoch (None for shorter runs)."""
    t = run["epoch_s"]
    if len(t) < DRIFT_LAST + 1:
        return None
    return statistics.median(t[-DRIFT_LAST:]) / min(t)


def summarize(runs: list[dict]) -> dict:
    """Median epoch time over the repetitions, and per-repetition medians for paired ratios.

    A run still disturbed after its retries is left out (``None`` in ``per_rep``), unless
    every run was."""
    used = sum(not r.get("disturbed") for r in runs)
    counts = [not (used and r.get("disturbed")) for r in runs]
    accs = [r["accuracy"] for r in runs if r["accuracy"] is not None]
    med = statistics.median(t for r, c in zip(runs, counts) if c for t in _timed_epochs(r))
    drifts = [d for r, c in zip(runs, counts) if c and (d := drift(r)) is not None]
    return {"epoch_s": med, "samples_s": runs[0]["n_train"] / med,
            "drift": statistics.median(drifts) if drifts else None,
            "peak_mb": statistics.median(r["maxrss_mb"] for r in runs),
            "accuracy": statistics.mean(accs) if accs else None, "n_train": runs[0]["n_train"],
            "per_rep": [statistics.median(_timed_epochs(r)) if c else None for r, c in zip(runs, counts)],
            "used": used, "runs": len(runs)}


def rejudge(sections: list[dict[str, list[dict]]], args) -> None:
    """Judge every kept run again against the fastest probe of the whole benchmark.

    During the runs each one was compared with the best probe seen so far, so a run made
    in a slow spell before any fast probe could pass; at the end the best is known."""
    for run in (r for section in sections for v in section.values() for r in v):
        run["slow"] = run["probe_s"] / args.probe_best
        run["disturbed"] = disturbed(run, args)


def left_out_lines(section: dict[str, dict]) -> list[str]:
    """One line per implementation whose runs were not all used."""
    lines = []
    for impl, s in _impls(section):
        if s["used"] == 0:
            lines.append(f"WARNING: every {impl} run was disturbed; its figures use them all and may be far off")
        elif s["used"] < s["runs"]:
            lines.append(f"note: {impl}: {s['runs'] - s['used']} of {s['runs']} runs left out as disturbed")
    return lines


def ratio_line(name: str, a: dict, b: dict, target: float) -> str:
    """``a / b`` as a ratio of medians, and as the median of per-repetition ratios.

    The second pairs runs that ran next to each other, so it is the steadier of the two
    when the machine's speed drifts (other virtual machines on the same host)."""
    v = a["epoch_s"] / b["epoch_s"]
    pairs = [x / y for x, y in zip(a["per_rep"], b["per_rep"]) if x is not None and y is not None] or [v]
    paired = statistics.median(pairs)
    return f"{name}: {v:.2f} (paired by repetition: {paired:.2f})  {_verdict(max(v, paired), target)}"


def bench_batch128(args, log, keep: Path) -> dict:
    impls = runnable([i for i in IMPLS_128 if i in args.impls], args, log, f"batch {args.batch_size}")
    if not impls:
        log(f"batch {args.batch_size}: nothing to run")
        return {}
    log(f"batch {args.batch_size}: {', '.join(impls)}; {args.reps} repetitions of {args.epochs} epochs")
    # mlpnet keeps its last checkpoint for the startup section (each run replaces it).
    return alternate(impls, args.reps, args, log, extra={"mlpnet": {"keep": keep}})


def bench_batch1(args, log, tmp: Path) -> dict:
    impls = runnable([i for i in IMPLS_1 if i in args.impls], args, log, "batch 1")
    if not impls:
        log("batch 1: nothing to run")
        return {}
    x_tr, y_tr, x_te, y_te = _fashion()
    subset = tmp / "subset.npz"
    n = args.sample_n
    np.savez(subset, x_train=x_tr[:n], y_train=y_tr[:n], x_test=x_te, y_test=y_te)
    log(f"batch 1 (seed network, first {n} training images): {', '.join(impls)}; {args.reps} repetitions of "
        f"{args.epochs_1} epochs")
    names = [f"{i}-1" for i in impls]
    runs = alternate(names, args.reps, args, log, extra={k: {"subset": subset, "epochs": args.epochs_1} for k in names})
    return {k[:-2]: v for k, v in runs.items()}


def _wall(cmd: list[str], args) -> tuple[float, subprocess.CompletedProcess]:
    """Median wall time of ``cmd`` over ``--startup-reps`` runs, and the last run."""
    times, proc = [], None
    for _ in range(args.startup_reps):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(args.repo), cwd=args.repo)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), proc


def bench_startup(args, log, ckpt: Path, tmp: Path) -> dict:
    log(f"startup: cached load, --help, predict, evaluation of the test set (mlpnet from {args.repo})")
    out = {}
    if not ckpt.exists():  # no batch-128 section ran: train one epoch for a checkpoint
        _spawn("mlpnet", args, epochs=1, keep=ckpt.parent)
    _spawn("load", args)  # make sure the decoded cache exists
    out["load_s"] = statistics.median(_spawn("load", args)["seconds"] for _ in range(args.startup_reps))
    out["help_s"], _ = _wall([sys.executable, "-m", "mlpnet", "--help"], args)
    has_predict = subprocess.run([sys.executable, "-m", "mlpnet", "predict", "--help"], capture_output=True,
                                 env=_env(args.repo), cwd=args.repo).returncode == 0
    if not has_predict:
        out["predict_s"] = None
        log("  this checkout has no `mlpnet predict` command: not timed")
    else:
        from PIL import Image

        png = tmp / "one.png"
        Image.fromarray(_fashion()[2][0].reshape(28, 28)).save(png)
        out["predict_s"], proc = _wall([sys.executable, "-m", "mlpnet", "predict", str(png), "--model", str(ckpt)], args)
        if proc.returncode != 0:
            log(f"  predict failed: {proc.stderr.strip()[-300:]}")
            out["predict_s"] = None
    out["eval_s"] = _spawn("eval", args, keep=ckpt)["median"]
    return out


# -- reporting ----------------------------------------------------------------------------------

def _verdict(value, target, lower_is_better=True) -> str:
    if value is None:
        return "not measured"
    ok = value <= target if lower_is_better else value >= target
    return f"{'met' if ok else 'NOT met'} (target <= {target:g})"


def _impls(section: dict):
    return [(k, v) for k, v in section.items() if not k.startswith("_")]


def report(r128: dict, r1: dict, start: dict, args) -> list[str]:
    lines = []
    if r128:
        base = r128.get("mlpnet")
        lines.append(f"\n== batch {args.batch_size}, 784-{HIDDEN[0]}-{HIDDEN[1]}-10 ReLU, cross-entropy, Adam, "
                     f"threads={args.threads or 'all'} ==")
        lines.append(f"{'implementation':16s} {'epoch s':>8s} {'samples/s':>10s} {'peak MB':>8s} {'test acc':>8s} "
                     f"{'x mlpnet':>8s} {'drift':>6s}")
        for impl, s in _impls(r128):
            acc = f"{s['accuracy']:.4f}" if s["accuracy"] is not None else "-"
            ratio = f"{s['epoch_s'] / base['epoch_s']:.2f}" if base else "-"
            lines.append(f"{impl:16s} {s['epoch_s']:8.3f} {s['samples_s']:10.0f} {s['peak_mb']:8.0f} {acc:>8s} {ratio:>8s} "
                         f"{_drift(s):>6s}")
        if base:
            if "pytorch" in r128:
                lines.append(ratio_line("mlpnet / pytorch (default Adam) epoch", base, r128["pytorch"],
                                        TARGETS["vs_pytorch"]))
            if "pytorch-fused" in r128:
                lines.append(ratio_line("mlpnet / pytorch (fused Adam) epoch  ", base, r128["pytorch-fused"],
                                        TARGETS["vs_pytorch_fused"]))
            lines.append(drift_line("mlpnet drift (last 3 epochs / fastest)", base))
            if "floor" in r128:
                lines.append(ratio_line("mlpnet / matmul floor epoch         ", base, r128["floor"], TARGETS["vs_floor"]))
                if "numpy-ref" in r128:  # context: the same target applied to the plain reference loop
                    lines.append(ratio_line("numpy-ref / matmul floor epoch      ", r128["numpy-ref"], r128["floor"],
                                            TARGETS["vs_floor"]))
            lines.append(f"mlpnet peak memory: {base['peak_mb']:.0f} MB  {_verdict(base['peak_mb'], TARGETS['peak_mb'])}")
    if r1:
        lines.append(f"\n== batch 1, seed network (sigmoid, squared error, SGD lr {LR_SGD}), "
                     f"first {args.sample_n} training images ==")
        lines.append(f"{'implementation':16s} {'us/sample':>10s} {'epoch s':>8s} {'test acc':>8s} {'drift':>6s}")
        for impl, s in _impls(r1):
            lines.append(f"{impl:16s} {s['epoch_s'] / s['n_train'] * 1e6:10.1f} {s['epoch_s']:8.3f} {s['accuracy']:8.4f} "
                         f"{_drift(s):>6s}")
        if "mlpnet" in r1 and "pytorch" in r1:
            lines.append(ratio_line("mlpnet / pytorch per-sample epoch", r1["mlpnet"], r1["pytorch"],
                                    TARGETS["batch1_vs_pytorch"]))
        if "mlpnet" in r1:
            lines.append(drift_line("mlpnet batch-1 drift (last 3 / fastest)", r1["mlpnet"]))
    if start:
        lines.append("\n== startup and evaluation (median wall time) ==")
        names = {"load_s": "load fashion-mnist again (cached)", "help_s": "mlpnet --help",
                 "predict_s": "mlpnet predict one.png", "eval_s": "evaluate 10k test images + metrics"}
        for key, name in names.items():
            v = start.get(key)
            lines.append(f"{name:36s} {('%.3f s' % v) if v is not None else '-':>9s}  {_verdict(v, TARGETS[key])}")
    return lines


def _drift(s: dict) -> str:
    return f"{s['drift']:.2f}" if s.get("drift") is not None else "-"


def drift_line(name: str, s: dict) -> str:
    """How much a run's last epochs slowed down against its fastest (see ``drift``)."""
    d = s.get("drift")
    shown = f"{d:.2f}" if d is not None else f"- (runs shorter than {DRIFT_LAST + 1} epochs)"
    return f"{name}: {shown}  {_verdict(d, TARGETS['drift'])}"


def markdown(r128: dict, r1: dict, start: dict, args) -> list[str]:
    lines = []
    if r128:
        lines += ["", f"| {args.batch_size}-sample batches, Adam | epoch | samples/s | peak memory | test accuracy "
                      "| time vs mlpnet | drift |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
    names = {"mlpnet": "mlpnet", "pytorch": "PyTorch (CPU, default Adam)", "pytorch-fused": "PyTorch (fused Adam)",
             "sklearn": "scikit-learn MLPClassifier", "numpy-ref": "hand-written NumPy loop (tests/train/test_perf.py)",
             "floor": "matrix products alone (floor)"}
    base = r128.get("mlpnet")
    for impl, s in _impls(r128):
        acc = f"{s['accuracy']:.3f}" if s["accuracy"] is not None else "—"
        mem = f"{s['peak_mb']:.0f} MB" if impl != "floor" else "—"
        ratio = f"{s['epoch_s'] / base['epoch_s']:.2f}x" if base else "—"
        lines.append(f"| {names[impl]} | {s['epoch_s']:.2f} s | {s['samples_s']:,.0f} | {mem} | {acc} | {ratio} "
                     f"| {_drift(s)} |")
    if r1:
        lines += ["", "| one sample at a time, seed network, SGD | per sample | test accuracy | time vs mlpnet | drift |",
                  "|---|---:|---:|---:|---:|"]
        b1 = r1.get("mlpnet")
        for impl, s in _impls(r1):
            ratio = f"{s['epoch_s'] / b1['epoch_s']:.2f}x" if b1 else "—"
            name = "PyTorch (CPU)" if impl == "pytorch" else names[impl]
            lines.append(f"| {name} | {s['epoch_s'] / s['n_train'] * 1e6:.0f} µs | {s['accuracy']:.3f} | {ratio} "
                         f"| {_drift(s)} |")
    if start:
        lines += ["", "| startup | time |", "|---|---:|"]
        names = {"load_s": "load Fashion-MNIST again (cached)", "help_s": "`mlpnet --help`",
                 "predict_s": "`mlpnet predict one.png`", "eval_s": "evaluate 10k test images"}
        for key, name in names.items():
            if start.get(key) is not None:
                lines.append(f"| {name} | {start[key]:.2f} s |")
    return lines


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5, help="repetitions of every implementation (default 5)")
    p.add_argument("--epochs", type=int, default=10,
                   help="epochs per batch-128 run (default 10; the first is warm-up, the last 3 give the drift)")
    p.add_argument("--epochs-1", type=int, default=10, help="epochs per batch-1 run (default 10)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=None, help="BLAS / PyTorch threads (default: all cores)")
    p.add_argument("--sample-n", type=int, default=5000, help="training images in the batch-1 section (default 5000)")
    p.add_argument("--startup-reps", type=int, default=5)
    p.add_argument("--impls", default=",".join(IMPLS_128), help="comma-separated subset of " + ",".join(IMPLS_128))
    p.add_argument("--only", choices=("batch128", "batch1", "startup"), action="append",
                   help="run only this section (repeatable)")
    p.add_argument("--quick", action="store_true",
                   help="2 repetitions of 5 epochs (batch 128) and 5 epochs of 2000 samples (batch 1)")
    p.add_argument("--markdown", action="store_true", help="also print the results as Markdown tables")
    p.add_argument("--max-others", type=float, default=0.1,
                   help="a run during which other processes used more CPU than this (in cores) is repeated (default 0.1)")
    p.add_argument("--max-slow", type=float, default=1.3,
                   help="a run whose process timed the machine probe at more than this many times the best probe "
                        "time is repeated (default 1.3)")
    p.add_argument("--retries", type=int, default=3, help="repeats of a disturbed run (default 3)")
    p.add_argument("--repo", type=Path, default=REPO,
                   help="checkout whose mlpnet is benchmarked (default: the one holding this script)")
    p.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    p.add_argument("--subset", help=argparse.SUPPRESS)
    p.add_argument("--keep", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.threads = args.threads or None
    if args.quick and not args.worker:
        args.reps, args.epochs, args.epochs_1, args.sample_n, args.startup_reps = 2, 5, 5, 2000, 3
    args.impls = [s.strip() for s in args.impls.split(",") if s.strip()]
    unknown = sorted(set(args.impls) - set(IMPLS_128))
    if unknown:
        p.error(f"--impls: unknown {', '.join(unknown)}; choose from {','.join(IMPLS_128)}")
    return args


def main(argv=None) -> None:
    args = parse(argv)
    args.repo = args.repo.resolve()
    sys.path.insert(0, str(args.repo))  # every mlpnet import below is inside a function
    if args.worker:
        return worker_main(args)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    sections = args.only or ["batch128", "batch1", "startup"]
    with tempfile.TemporaryDirectory(prefix="mlpnet-bench-") as tmp:
        tmp = Path(tmp)
        ckpt_dir = tmp / "run"
        log(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.2f}")
        for _ in range(3):  # a first idea of the probe's best time, before any run is judged by it
            _slowness(args, _spawn("probe", args)["probe_s"])
        runs128 = bench_batch128(args, log, ckpt_dir) if "batch128" in sections else {}
        runs1 = bench_batch1(args, log, tmp) if "batch1" in sections else {}
        if not runs128 and not runs1 and "startup" not in sections:
            sys.exit("bench.py: nothing to run for --only/--impls as given")
        start = bench_startup(args, log, ckpt_dir / "last.npz", tmp) if "startup" in sections else {}
        rejudge([runs128, runs1], args)
        r128 = {k: summarize(v) for k, v in runs128.items()}
        r1 = {k: summarize(v) for k, v in runs1.items()}
        runs = [r for section in (runs128, runs1) for v in section.values() for r in v]
        print(f"{len(runs)} training runs; {sum(r['disturbed'] for r in runs)} of them still disturbed after up to "
              f"{args.retries} repeats (other processes above {args.max_others} cores, or the run's probe above "
              f"{args.max_slow}x the fastest probe of the whole benchmark), left out of the medians")
        print("\n".join(left_out_lines(r128) + left_out_lines(r1) + report(r128, r1, start, args)))
        if args.markdown:
            print("\n".join(markdown(r128, r1, start, args)))


if __name__ == "__main__":
    main()
