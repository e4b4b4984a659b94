"""Sweeps: the sweep file's validation, deterministic trials, and real Dask runs (local and external)."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import make_blobs_npz, small_config, skip_reason
from mlpnet import checkpoint, config
from mlpnet.cli import cli
from mlpnet.errors import ConfigError
from mlpnet.sweep import spec as sweep_spec

RANDOM = """
method: random
trials: 4
metric: val_accuracy
parameters:
  optimizer.lr: {distribution: loguniform, low: 1.0e-3, high: 1.0e-2}
  model.hidden: {values: [[8], [16, 8]]}
  model.dropout: {distribution: uniform, low: 0.0, high: 0.3}
"""


@pytest.fixture
def small(tmp_path) -> Path:
    return make_blobs_npz(tmp_path / "small.npz", n_train=300, n_test=60)


def _base(npz, *extra):
    return small_config(npz, "data.val_size=60", "model.hidden=[8]", "train.epochs=1", *extra)


def _write(tmp_path, text, name="sw.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


# -- the sweep file ----------------------------------------------------------------------

def test_random_trials_are_deterministic_and_in_range(tmp_path, small):
    base = _base(small)
    a = sweep_spec.load(_write(tmp_path, RANDOM), base).trial_params()
    b = sweep_spec.load(_write(tmp_path, RANDOM.replace("trials: 4", "trials: 6")), base).trial_params()
    assert a == b[:4]  # trial i depends on (seed, i) alone
    assert len({p["optimizer.lr"] for p in a}) == 4
    for p in b:
        assert 1e-3 <= p["optimizer.lr"] <= 1e-2 and 0 <= p["model.dropout"] <= 0.3
        assert p["model.hidden"] in ([8], [16, 8])
    c = sweep_spec.load(_write(tmp_path, RANDOM + "seed: 1\n"), base).trial_params()
    assert c != a


def test_grid_is_the_product(tmp_path, small):
    text = "method: grid\nparameters:\n  optimizer.lr: {values: [0.1, 0.01]}\n  model.hidden: {values: [[8], [4]]}\n"
    s = sweep_spec.load(_write(tmp_path, text), _base(small))
    assert s.trials == 4
    assert s.trial_params() == [{"optimizer.lr": 0.1, "model.hidden": [8]}, {"optimizer.lr": 0.1, "model.hidden": [4]},
                                {"optimizer.lr": 0.01, "model.hidden": [8]}, {"optimizer.lr": 0.01, "model.hidden": [4]}]


@pytest.mark.parametrize("text, message", [
    (RANDOM.replace("metric:", "metrik:"), "unknown key 'metrik' (did you mean 'metric'?)"),
    (RANDOM.replace("optimizer.lr:", "optimizer.lrr:"), "parameters: unknown key 'optimizer.lrr' (did you mean 'lr'?)"),
    (RANDOM.replace("model.dropout: {distribution: uniform", "model.dropout: {distribtion: uniform"),
     "parameters.model.dropout: unknown key 'distribtion' (did you mean 'distribution'?)"),
    (RANDOM.replace("[[8], [16, 8]]", "[[8], [0]]"), "parameters.model.hidden.values: model.hidden[0]: 0 is out of range"),
    (RANDOM.replace("high: 0.3", "high: 1.5"), "parameters.model.dropout.high: model.dropout: 1.5 is out of range"),
    (RANDOM.replace("metric: val_accuracy", "metric: accuracy"), "metric: 'accuracy' is not one of"),
    (RANDOM.replace("trials: 4\n", ""), "trials: a random sweep needs a number of trials"),
    (RANDOM.replace("loguniform, low: 1.0e-3", "loguniform, low: 0"), "loguniform needs low > 0"),
    ("method: grid\ntrials: 3\nparameters:\n  optimizer.lr: {values: [0.1, 0.01]}\n", "has 2 trials, not 3"),
    ("method: grid\nparameters:\n  optimizer.lr: {distribution: uniform, low: 0.1, high: 0.2}\n",
     "a grid sweep needs a list of values"),
    ("parameters:\n  model: {values: [1]}\ntrials: 2\n", "model is a section"),
])
def test_sweep_file_errors_name_the_file_and_key(tmp_path, small, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        sweep_spec.load(path, _base(small))
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_cli_sweep_file_error_exits_2_on_one_line(tmp_path, small):
    path = _write(tmp_path, RANDOM.replace("model.dropout:", "model.dropot:"))
    r = CliRunner().invoke(cli, ["sweep", str(path), "--set", "data.dataset=npz", "--set", f"data.path={small}"])
    assert r.exit_code == 2
    assert r.output.strip() == (f"error: {path}: parameters: unknown key 'model.dropot' "
                                "(did you mean 'dropout'?)")


# -- real Dask runs ----------------------------------------------------------------------

@pytest.mark.slow
def test_local_cluster_sweep_then_rerun_resumes(tmp_path, small, monkeypatch):
    pytest.importorskip("dask.distributed", reason=skip_reason("dask"))
    monkeypatch.chdir(tmp_path)
    sw = _write(tmp_path, RANDOM)
    base = ["--set", "data.dataset=npz", "--set", f"data.path={small}", "--set", "data.val_size=60",
            "--set", "train.epochs=1", "--set", "train.batch_size=32",
            "--set", "train.min_steps=0", "--set", "train.min_batches=0"]
    t0 = time.perf_counter()
    r = CliRunner().invoke(cli, ["sweep", str(sw), *base, "--workers", "2"])
    first = time.perf_counter() - t0
    assert r.exit_code == 0, r.output
    out = tmp_path / "sweeps" / "sw"
    rows = _rows(out / "results.csv")
    assert [row["trial"] for row in rows] == ["1", "2", "3", "4"]
    assert {row["status"] for row in rows} == {"ok"}
    assert list(rows[0]) == ["trial", "optimizer.lr", "model.hidden", "model.dropout", "val_accuracy", "status",
                             "seconds", "error"]
    # each trial is an ordinary run directory, with the sweep's parameters in its config
    params = sweep_spec.load(sw, config.load(None, base[1::2])).trial_params()
    for i, p in enumerate(params, 1):
        ck = checkpoint.load(out / f"trial-{i:03d}" / "best.npz")
        assert ck.meta.config["model"]["hidden"] == p["model.hidden"]
        assert ck.meta.config["optimizer"]["lr"] == pytest.approx(p["optimizer.lr"])
        assert ck.meta.config["train"]["threads"] == 1
    info = CliRunner().invoke(cli, ["info", str(out / "trial-001" / "best.npz")])
    assert info.exit_code == 0, info.output
    # the table ranks by the metric, and best.yaml is the best trial's full, trainable config
    best_row = max(rows, key=lambda row: (float(row["val_accuracy"]), -int(row["trial"])))
    table = r.stdout.splitlines()
    assert table[0].split()[:2] == ["rank", "trial"] and table[1].split()[1] == f"{int(best_row['trial']):03d}"
    best = config.load(out / "best.yaml")
    assert best.model.hidden == json.loads(best_row["model.hidden"])
    assert best.train.monitor == "val_accuracy" and best.train.threads is None
    if (out / "trial-001" / "curves.png").exists():  # matplotlib present
        assert (out / "sweep.png").stat().st_size > 0

    # rerun: nothing to do, nothing rewritten
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("trial-*/best.npz")}
    r2 = CliRunner().invoke(cli, ["sweep", str(sw), *base, "--workers", "2"])
    assert r2.exit_code == 0, r2.output
    assert "all 4 trials already finished" in r2.output
    assert {p: p.stat().st_mtime_ns for p in out.glob("trial-*/best.npz")} == stamps
    # a trial cut short (no record) is run again, alone
    (out / "trial-003" / "trial.json").unlink()
    r3 = CliRunner().invoke(cli, ["sweep", str(sw), *base, "--workers", "1"])
    assert r3.exit_code == 0, r3.output
    assert "3 of 4 trials already finished" in r3.output
    assert (out / "trial-001" / "best.npz").stat().st_mtime_ns == stamps[out / "trial-001" / "best.npz"]
    assert (out / "trial-003" / "trial.json").exists()
    # a different sweep in the same folder is refused
    r4 = CliRunner().invoke(cli, ["sweep", str(sw), *base, "--set", "train.epochs=2"])
    assert r4.exit_code == 1 and "holds a different sweep (base.train.epochs differs)" in r4.output
    print(f"local cluster, 4 trials on 2 workers: {first:.1f}s")


@pytest.mark.slow
def test_failing_trial_is_recorded_and_others_go_on(tmp_path, small, monkeypatch):
    pytest.importorskip("dask.distributed", reason=skip_reason("dask"))
    monkeypatch.chdir(tmp_path)
    sw = _write(tmp_path, f"method: grid\nparameters:\n  data.path: {{values: ['{small}', '{tmp_path / 'gone.npz'}']}}\n")
    r = CliRunner().invoke(cli, ["sweep", str(sw), "--set", "data.dataset=npz", "--set", f"data.path={small}",
                                 "--set", "data.val_size=60", "--set", "train.epochs=1", "--set", "train.min_steps=0",
                                 "--workers", "1"])
    assert r.exit_code == 1
    assert r.output.strip().endswith("error: 1 of 2 trial(s) failed; see results.csv")
    rows = _rows(tmp_path / "sweeps" / "sw" / "results.csv")
    assert [row["status"] for row in rows] == ["ok", "failed"]
    assert rows[1]["error"] == f"{tmp_path / 'gone.npz'}: no such file"
    assert (tmp_path / "sweeps" / "sw" / "best.yaml").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_external_scheduler_and_worker(tmp_path, small):
    pytest.importorskip("dask.distributed", reason=skip_reason("dask"))
    from mlpnet.sweep import load, run_sweep

    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    bindir = Path(sys.executable).parent
    dask = [str(bindir / "dask")] if (bindir / "dask").exists() else [sys.executable, "-m", "distributed.cli.dask_spec"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    procs = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        procs.append(subprocess.Popen([*dask, "worker", addr, "--nthreads", "1", "--nworkers", "1", "--host",
                                       "127.0.0.1", "--no-dashboard"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tmp_path))
        from dask.distributed import Client

        with Client(addr, timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
        base = _base(small)
        spec = load(_write(tmp_path, RANDOM.replace("trials: 4", "trials: 2")), base)
        t0 = time.perf_counter()
        lines = []
        outcome = run_sweep(spec, base, tmp_path / "ext", scheduler=addr, echo=lines.append)
        took = time.perf_counter() - t0
        assert outcome.ran == 2 and [r.status for r in outcome.results] == ["ok", "ok"], lines
        assert f"on the Dask scheduler at {addr} (1 worker thread(s))" in lines[0]
        assert (tmp_path / "ext" / "trial-002" / "best.npz").exists()
        print(f"external scheduler, 2 trials on 1 worker: {took:.1f}s")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.slow
def test_unreachable_scheduler_is_one_line(tmp_path, small):
    pytest.importorskip("dask.distributed", reason=skip_reason("dask"))
    sw = _write(tmp_path, RANDOM)
    r = CliRunner().invoke(cli, ["sweep", str(sw), "--set", "data.dataset=npz", "--set", f"data.path={small}",
                                 "-o", str(tmp_path / "o"), "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    assert r.exit_code == 1
    assert r.output.startswith("error: --scheduler tcp://127.0.0.1:") and r.output.count("\n") == 1


@pytest.mark.slow
def test_ctrl_c_keeps_finished_trials(tmp_path, small):
    pytest.importorskip("dask.distributed", reason=skip_reason("dask"))
    import signal

    sw = _write(tmp_path, RANDOM.replace("trials: 4", "trials: 8"))
    cmd = [sys.executable, "-m", "mlpnet", "sweep", str(sw), "--set", "data.dataset=npz", "--set", f"data.path={small}",
           "--set", "data.val_size=60", "--set", "train.epochs=1", "--set", "train.min_steps=0", "--workers", "1",
           "-o", str(tmp_path / "o")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "o" / "trial-001" / "trial.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted; ")
    rows = _rows(tmp_path / "o" / "results.csv")
    done = [r for r in rows if r["status"] == "ok"]
    assert len(rows) == 8 and 1 <= len(done) < 8 and {r["status"] for r in rows} <= {"ok", "pending"}
    for r in done:
        assert (tmp_path / "o" / f"trial-{int(r['trial']):03d}" / "best.npz").exists()


def test_without_dask_one_line_names_the_extra(tmp_path, small, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "dask" or name.startswith(("dask.", "distributed"))):
            raise ImportError(name)
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    sw = _write(tmp_path, RANDOM)
    r = CliRunner().invoke(cli, ["sweep", str(sw), "--set", "data.dataset=npz", "--set", f"data.path={small}",
                                 "-o", str(tmp_path / "o")])
    assert r.exit_code == 1
    assert r.output == 'error: the sweep command needs Dask distributed; pip install "mlpnet[sweep]"\n'


@pytest.mark.slow
def test_median_rule_stops_a_hopeless_trial(tmp_path, small):
    pytest.importorskip("dask.distributed", reason=skip_reason("dask"))
    from mlpnet.sweep import load, run_sweep

    base = _base(small, "train.epochs=3")
    text = "method: grid\nprune: median\nparameters:\n  optimizer.lr: {values: [0.005, 0.006, 0.007, 1.0e-7]}\n"
    spec = load(_write(tmp_path, text), base)
    lines = []
    outcome = run_sweep(spec, base, tmp_path / "p", workers=1, echo=lines.append)
    assert [r.status for r in outcome.results] == ["ok", "ok", "ok", "pruned"], lines
    pruned = outcome.results[3]
    assert pruned.epochs == 1 and pruned.error.startswith("pruned after epoch 1: best val_accuracy")
    assert (tmp_path / "p" / "trial-004" / "best.npz").exists()  # what it trained is kept
    # a pruned trial counts as done
    again = run_sweep(spec, base, tmp_path / "p", workers=1, echo=lines.append)
    assert again.ran == 0 and again.results[3].status == "pruned"
