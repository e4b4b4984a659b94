"""Checkpoints written by an older mlpnet (format 1, before issue 19) still load and answer the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mlpnet
from mlpnet import checkpoint
from mlpnet.predict import predict_files

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"
EXPECTED = np.load(FIXTURES / "v1-expected.npz")


def _cli_probs(res, n_classes: int) -> np.ndarray:
    assert not res.errors
    p = np.zeros((len(res.predictions), n_classes))
    for i, pred in enumerate(res.predictions):
        for t in pred.top_k:
            p[i, t["index"]] = t["probability"]
    return p


@pytest.mark.parametrize("name", ["v1-image.npz", "v1-table.npz"])
def test_format_1_files_are_what_the_fixtures_claim(name):
    with np.load(FIXTURES / name, allow_pickle=False) as f:
        assert '"format_version": 1' in str(f["__meta__"])


def test_v1_image_model_answers_as_it_did():
    files = [str(FIXTURES / f"v1-image-probe{i}.png") for i in range(3)]
    got = _cli_probs(predict_files(FIXTURES / "v1-image.npz", files, top_k=4), 4)
    np.testing.assert_allclose(got, EXPECTED["image_cli"], atol=1e-6)
    clf = mlpnet.load(FIXTURES / "v1-image.npz")
    np.testing.assert_allclose(clf.predict_proba(EXPECTED["image_pixels"]), EXPECTED["image_api"], atol=1e-6)
    assert list(clf.classes_) == [0, 1, 2, 3]


def test_v1_table_model_answers_as_it_did():
    got = _cli_probs(predict_files(FIXTURES / "v1-table.npz", [str(FIXTURES / "v1-table-probe.csv")], top_k=3), 3)
    np.testing.assert_allclose(got, EXPECTED["table_cli"], atol=1e-6)
    rows = [line.split(",") for line in (FIXTURES / "v1-table-probe.csv").read_text().splitlines()[1:]]
    clf = mlpnet.load(FIXTURES / "v1-table.npz")
    np.testing.assert_allclose(clf.predict_proba(rows), EXPECTED["table_api"], atol=1e-6)
    assert list(clf.classes_) == ["apple", "pear", "plum"]


def test_v1_checkpoint_loads_its_input_statistics():
    ckpt = checkpoint.load(FIXTURES / "v1-table.npz")
    assert ckpt.model.arch.sizes[0] == 5  # colour one-hot (3) + size + weight
