"""scikit-learn's check_estimator: each mlpnet estimator passes every check that scikit-learn's own
MLP of the same kind passes, with nothing expected to fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import skip_reason

CODE = """
import json, warnings
warnings.simplefilter("ignore")
from sklearn.utils.estimator_checks import check_estimator
from sklearn import neural_network as sk
import mlpnet
out = {}
for name in ("MLPClassifier", "MLPRegressor"):
    for who, cls in (("mlpnet", getattr(mlpnet, name)), ("sklearn", getattr(sk, name))):
        res = check_estimator(cls(), on_fail=None)
        out[f"{who}.{name}"] = [[r["check_name"], r["status"], repr(r["exception"])[:300]] for r in res]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_check_estimator_passes_what_scikit_learns_own_mlps_pass():
    pytest.importorskip("sklearn", reason=skip_reason("sklearn"))
    pytest.importorskip("pandas", reason="check_classifier_data_not_an_array needs pandas")
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}  # else the array-API check is skipped
    run = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    res = json.loads(run.stdout.strip().splitlines()[-1])
    for name in ("MLPClassifier", "MLPRegressor"):
        theirs = {c for c, status, _ in res[f"sklearn.{name}"] if status == "passed"}
        ours = {c: (status, err) for c, status, err in res[f"mlpnet.{name}"]}
        assert len(theirs) > 40
        missing = {c: ours.get(c) for c in theirs if ours.get(c, ("absent",))[0] != "passed"}
        assert not missing, (name, missing)
        assert not [c for c, (status, _) in ours.items() if status in ("failed", "xfail")], (name, ours)
