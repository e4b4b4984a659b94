"""mlpnet's MLPClassifier/MLPRegressor against scikit-learn's, with the same parameters on the same splits.

Prints four Markdown tables (needs scikit-learn):

1. check_estimator parity: the checks scikit-learn's own MLPClassifier/MLPRegressor pass, and
   how many of them mlpnet's pass (every one is the target; nothing may be expected-to-fail).
2. load_digits accuracy, make_friedman1 and load_diabetes R^2, and fit-time ratio (mlpnet /
   scikit-learn), over 3 splits (75/25, seeds 0-2). Both get default parameters and
   ``random_state=seed``; scikit-learn gets a StandardScaler on X (and, for regression, on y
   through TransformedTargetRegressor), which mlpnet does inside. Targets: accuracy within
   0.01, R^2 within 0.02, fit time <= 0.6x.
3. The small tabular classification sets of the README (iris, wine, breast_cancer).

Fit times depend on the machine's load: measure on a quiet one (the load average is printed
before and after). Each fit is timed ``--repeat`` times (default 3), the two libraries taking
turns, and the fastest of each is kept. By default each library uses BLAS threads as it does
out of the box (mlpnet's ``sizing.blas_threads`` picks one thread for small networks,
scikit-learn uses every core); ``--threads N`` runs both under the same limit of N threads.

    python scripts/estimator_vs_sklearn.py [--skip-checks] [--repeat 3] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine, make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlpnet


def parity() -> None:
    from sklearn.utils.estimator_checks import check_estimator

    os.environ.setdefault("SCIPY_ARRAY_API", "1")
    print("| estimator | scikit-learn's passes | mlpnet's passes of those | mlpnet failed or xfail |")
    print("|---|---:|---:|---|")
    for name in ("MLPClassifier", "MLPRegressor"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = check_estimator(getattr(__import__("sklearn.neural_network", fromlist=[name]), name)(),
                                     on_fail=None)
            ours = check_estimator(getattr(mlpnet, name)(), on_fail=None)
        passed = {r["check_name"] for r in theirs if r["status"] == "passed"}
        ours_ok = {r["check_name"] for r in ours if r["status"] == "passed"}
        bad = sorted({r["check_name"] for r in ours if r["status"] in ("failed", "xfail")})
        print(f"| {name} | {len(passed)} | {len(passed & ours_ok)} | {', '.join(bad) or 'none'} |")


REPEAT = 3
THREADS: int | None = None


def _fit(make, xa, ya):
    """The estimator ``make()`` fitted, and the seconds it took."""
    est = make()
    t0 = time.perf_counter()
    with warnings.catch_warnings(), threadpool_limits(limits=THREADS, user_api="blas"):
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, on both sides
        est.fit(xa, ya)
    return est, time.perf_counter() - t0


def _pair(ours, theirs, xa, ya):
    """Both fitted ``REPEAT`` times, taking turns so a change of load hits both alike; the fastest of each.

    Every fit is seeded, so each repeat fits the same model."""
    ta = tb = float("inf")
    for _ in range(REPEAT):
        a, t = _fit(ours, xa, ya)
        ta = min(ta, t)
        b, t = _fit(theirs, xa, ya)
        tb = min(tb, t)
    return a, ta, b, tb


def head_to_head() -> None:
    print("| dataset | metric | mlpnet | scikit-learn | difference | fit time ratio (mlpnet / sklearn) |")
    print("|---|---|---:|---:|---:|---:|")
    sets = {"load_digits": (*load_digits(return_X_y=True), "accuracy"),
            "make_friedman1": (*make_friedman1(n_samples=2000, random_state=0), "r2"),
            "load_diabetes": (*load_diabetes(return_X_y=True), "r2")}
    for name, (x, y, metric) in sets.items():
        ours, theirs, ratios = [], [], []
        for seed in range(3):
            xa, xb, ya, yb = train_test_split(x, y, test_size=0.25, random_state=seed)
            if metric == "accuracy":
                a, ta, b, tb = _pair(lambda: mlpnet.MLPClassifier(random_state=seed),
                                     lambda: make_pipeline(StandardScaler(), SkClassifier(random_state=seed)), xa, ya)
            else:
                a, ta, b, tb = _pair(lambda: mlpnet.MLPRegressor(random_state=seed),
                                     lambda: TransformedTargetRegressor(
                                         make_pipeline(StandardScaler(), SkRegressor(random_state=seed)),
                                         transformer=StandardScaler()), xa, ya)
            ours.append(a.score(xb, yb))
            theirs.append(b.score(xb, yb))
            ratios.append(ta / tb)
        diff = np.mean(ours) - np.mean(theirs)
        print(f"| {name} | {metric} | {np.mean(ours):.4f} | {np.mean(theirs):.4f} | {diff:+.4f} "
              f"| {np.median(ratios):.2f} ({' '.join(f'{r:.2f}' for r in ratios)}) |")


def small_sets() -> None:
    print("| dataset | mlpnet | scikit-learn | mlpnet per split | scikit-learn per split | mlpnet fit |")
    print("|---|---:|---:|---|---|---:|")
    for name, loader in (("iris", load_iris), ("wine", load_wine), ("breast_cancer", load_breast_cancer)):
        d = loader()
        y = np.asarray(d.target_names)[d.target]
        ours, theirs, seconds = [], [], []
        for seed in range(5):
            xa, xb, ya, yb = train_test_split(d.data, y, test_size=0.25, random_state=seed, stratify=y)
            est, t, sk, _ = _pair(lambda: mlpnet.MLPClassifier(random_state=seed),
                                  lambda: make_pipeline(StandardScaler(), SkClassifier(random_state=seed)), xa, ya)
            ours.append(est.score(xb, yb))
            seconds.append(t)
            theirs.append(sk.score(xb, yb))
        print(f"| {name} | {np.mean(ours):.3f} | {np.mean(theirs):.3f} | {' '.join(f'{a:.3f}' for a in ours)} "
              f"| {' '.join(f'{a:.3f}' for a in theirs)} | {np.median(seconds):.2f} s |")


def main() -> None:
    global REPEAT, THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-checks", action="store_true", help="skip the check_estimator parity table")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="fits timed per split and library (the fastest kept)")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads for both libraries (default: "
                        "each as it comes)")
    args = parser.parse_args()
    REPEAT, THREADS = args.repeat, args.threads
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; BLAS threads: "
          f"{THREADS or 'each library as it comes'}; fastest of {REPEAT} fits\n")
    if not args.skip_checks:
        parity()
        print()
    head_to_head()
    print()
    small_sets()
    print()
    print("A regression CSV through the command line: python scripts/cli_regression_vs_sklearn.py")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
