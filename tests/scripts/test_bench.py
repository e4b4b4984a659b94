"""scripts/bench.py's bookkeeping: which runs count, how ratios pair, which options it refuses.

The benchmark itself needs Fashion-MNIST and minutes; these tests check only the parts
that decide what it reports, on made-up run records.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import REPO, missing_modules, skip_reason


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", REPO / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["bench"]


def run(epochs, disturbed=False, acc=0.8):
    return {"epoch_s": epochs, "n_train": 1000, "accuracy": acc, "maxrss_mb": 100.0, "disturbed": disturbed}


def test_a_run_still_disturbed_after_its_repeats_is_left_out_of_the_medians(bench):
    s = bench.summarize([run([9.0, 1.0, 1.0]), run([9.0, 5.0, 5.0], disturbed=True), run([9.0, 1.2, 1.2])])
    assert s["epoch_s"] == pytest.approx(1.1)  # median of 1.0 1.0 1.2 1.2, warm-up epochs dropped
    assert s["per_rep"] == [1.0, None, 1.2]
    assert s["samples_s"] == pytest.approx(1000 / 1.1)


def test_if_every_run_was_disturbed_they_all_count(bench):
    s = bench.summarize([run([2.0, 2.0], disturbed=True), run([2.0, 4.0], disturbed=True)])
    assert s["epoch_s"] == pytest.approx(3.0)
    assert s["per_rep"] == [2.0, 4.0]


def test_paired_ratio_uses_only_repetitions_clean_on_both_sides(bench):
    a = bench.summarize([run([0, 1.0]), run([0, 3.0], disturbed=True), run([0, 1.0])])
    b = bench.summarize([run([0, 2.0]), run([0, 2.0]), run([0, 2.5], disturbed=True)])
    line = bench.ratio_line("a / b", a, b, target=0.6)
    # ratio of medians 1.0 / 2.0; the only repetition clean on both sides is the first: 1.0 / 2.0
    assert "a / b: 0.50 (paired by repetition: 0.50)  met (target <= 0.6)" == line


def test_a_ratio_over_the_target_is_reported_not_met(bench):
    a, b = bench.summarize([run([0, 1.5])]), bench.summarize([run([0, 1.0])])
    assert bench.ratio_line("x", a, b, target=1.4).endswith("NOT met (target <= 1.4)")


def test_unknown_implementation_names_are_refused(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse(["--impls", "mlpnet,torch"])
    assert "unknown torch" in capsys.readouterr().err


def test_a_run_is_disturbed_by_other_processes_or_a_slow_probe(bench):
    args = bench.parse([])
    assert not bench.disturbed({"others": 0.05, "slow": 1.1}, args)
    assert bench.disturbed({"others": 0.5, "slow": 1.0}, args)
    assert bench.disturbed({"others": 0.0, "slow": 1.5}, args)


def test_the_probe_is_judged_against_the_fastest_time_seen(bench):
    args = bench.parse([])
    assert bench._slowness(args, 0.010) == 1.0
    assert bench._slowness(args, 0.005) == 1.0
    assert bench._slowness(args, 0.0075) == pytest.approx(1.5)


def test_runs_are_judged_again_against_the_fastest_probe_of_the_whole_benchmark(bench):
    args = bench.parse([])
    early = {**run([0, 2.0]), "others": 0.0, "probe_s": 0.010}  # passed when 0.010 was the best probe seen
    later = {**run([0, 1.0]), "others": 0.0, "probe_s": 0.005}
    for r in (early, later):
        bench._slowness(args, r["probe_s"])
    bench.rejudge([{"mlpnet": [early, later]}], args)
    assert early["disturbed"] and early["slow"] == pytest.approx(2.0)
    assert not later["disturbed"]


def test_left_out_runs_are_reported_per_implementation(bench):
    section = {"mlpnet": bench.summarize([run([0, 1.0]), run([0, 1.0], disturbed=True)]),
               "pytorch": bench.summarize([run([0, 2.0], disturbed=True)]),
               "floor": bench.summarize([run([0, 0.5])])}
    assert bench.left_out_lines(section) == [
        "note: mlpnet: 1 of 2 runs left out as disturbed",
        "WARNING: every pytorch run was disturbed; its figures use them all and may be far off"]


def test_drift_is_the_median_of_the_last_three_epochs_over_the_fastest(bench):
    assert bench.drift(run([1.2, 1.0, 1.1, 1.5, 1.6, 1.7])) == pytest.approx(1.6)
    assert bench.drift(run([1.0, 1.0, 1.0])) is None  # too short to tell
    s = bench.summarize([run([2.0, 1.0, 1.0, 1.0, 1.0]), run([2.0, 1.0, 1.2, 1.2, 1.2]),
                         run([2.0, 1.0, 3.0, 3.0, 3.0], disturbed=True)])
    assert s["drift"] == pytest.approx(1.1)  # the disturbed run is left out
    assert bench.drift_line("d", s).endswith("met (target <= 1.1)")
    assert "NOT met" in bench.drift_line("d", bench.summarize([run([1.0, 1.0, 1.5, 1.5, 1.5])]))


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "scripts").glob("*.py")))
def test_every_script_starts(script):
    """Each measuring script imports what it needs and parses its options (``--help``).

    A script whose extra is not installed is skipped, naming it (the README's install has only [test]).
    """
    import subprocess

    missing = missing_modules(REPO / "scripts" / script)
    if missing:
        pytest.skip(f"{script}: " + "; ".join(skip_reason(m) for m in missing))
    r = subprocess.run([sys.executable, str(REPO / "scripts" / script), "--help"], capture_output=True, text=True,
                       timeout=120, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "usage:" in r.stdout


def test_fashion_trials_list_the_shipped_config_first_and_refuse_unknown_rows():
    import subprocess

    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import fashion_trials
    finally:
        sys.path.remove(str(REPO / "scripts"))
    assert fashion_trials.TRIALS[0][1] == () and "shipped" in fashion_trials.TRIALS[0][0]
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "fashion_trials.py"), "--only", "0"],
                       capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 2 and "no trial 0" in r.stderr


def test_point11_a_script_whose_extra_is_absent_is_skipped_with_the_reason(monkeypatch):
    """Issue 18 point 11: on the README's install (only [test]) the script tests skip, they do not fail."""
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were not installed
    with pytest.raises(pytest.skip.Exception, match=r"sklearn is not installed \(pip install 'mlpnet\[sklearn\]'\)"):
        test_every_script_starts("estimator_vs_sklearn.py")
