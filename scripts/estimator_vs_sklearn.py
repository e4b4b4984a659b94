"""mlpnet.MLPClassifier with default parameters against scikit-learn's MLP on small tabular sets.

Each dataset is split 5 times (stratified, 75/25, seeds 0-4); raw features and string
labels go to ``mlpnet.MLPClassifier(random_state=seed)`` and to
``make_pipeline(StandardScaler(), MLPClassifier(random_state=seed))``. Prints mean test
accuracy (and each split's) as a Markdown table. Needs scikit-learn.

    python scripts/estimator_vs_sklearn.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlpnet


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    print("| dataset | mlpnet | scikit-learn | mlpnet per split | scikit-learn per split | mlpnet fit |")
    print("|---|---:|---:|---|---|---:|")
    for name, loader in (("iris", load_iris), ("wine", load_wine), ("breast_cancer", load_breast_cancer)):
        d = loader()
        y = np.asarray(d.target_names)[d.target]
        ours, theirs, seconds = [], [], []
        for seed in range(5):
            xa, xb, ya, yb = train_test_split(d.data, y, test_size=0.25, random_state=seed, stratify=y)
            t0 = time.perf_counter()
            ours.append(mlpnet.MLPClassifier(random_state=seed).fit(xa, ya).score(xb, yb))
            seconds.append(time.perf_counter() - t0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at its 200 epochs
                theirs.append(make_pipeline(StandardScaler(), SkMLP(random_state=seed)).fit(xa, ya).score(xb, yb))
        print(f"| {name} | {np.mean(ours):.3f} | {np.mean(theirs):.3f} | {' '.join(f'{a:.3f}' for a in ours)} "
              f"| {' '.join(f'{a:.3f}' for a in theirs)} | {np.median(seconds):.2f} s |")


if __name__ == "__main__":
    main()
