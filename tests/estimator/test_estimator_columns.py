"""MLPClassifier and column names: DataFrames are matched by name, bare arrays by position (issue 18, 4-5)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import mlpnet
from mlpnet.cli import cli as main

from conftest import skip_reason

pd = pytest.importorskip("pandas", reason=skip_reason("pandas"))


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300) * 5})
    return df, (df["a"] > 0).astype(int).to_numpy()


@pytest.fixture(scope="module")
def fitted(frame):
    df, y = frame
    return mlpnet.MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(df[["a", "b"]], y)


def test_reordered_dataframe_columns_match_by_name(fitted, frame):
    df, y = frame
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same names: no warning
        straight = fitted.predict_proba(df[["a", "b"]])
        swapped = fitted.predict_proba(df[["b", "a"]])
    np.testing.assert_array_equal(straight, swapped)
    assert fitted.score(df[["b", "a"]], y) > 0.9
    assert list(fitted.feature_names_in_) == ["a", "b"] and fitted.feature_names_in_.dtype == object
    assert fitted.n_features_in_ == 2


def test_missing_or_unknown_column_names_raise_one_message(fitted, frame):
    df, _ = frame
    with pytest.raises(ValueError, match="unseen at fit time: c") as err:
        fitted.predict(df.assign(c=1.0))
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="yet now missing: b"):
        fitted.predict(df[["a"]])
    with pytest.raises(ValueError, match="unseen at fit time: z.*yet now missing: b"):
        fitted.predict(df.rename(columns={"b": "z"}))


def test_feature_names_appearing_or_vanishing_warn_as_sklearn(fitted, frame):
    df, y = frame
    with pytest.warns(UserWarning, match="X does not have valid feature names, but MLPClassifier was fitted "
                                         "with feature names"):
        fitted.predict(df[["a", "b"]].to_numpy())
    bare = mlpnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(df[["a", "b"]].to_numpy(), y)
    assert not hasattr(bare, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but MLPClassifier was fitted without feature names"):
        bare.predict(df[["a", "b"]])
    refit = mlpnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(df, y).fit(df.to_numpy(), y)
    assert not hasattr(refit, "feature_names_in_")  # a refit on a bare array forgets the old names


def test_names_survive_save_and_load(fitted, frame, tmp_path):
    df, _ = frame
    back = mlpnet.load(fitted.save(tmp_path / "m.npz"))
    assert list(back.feature_names_in_) == ["a", "b"]
    np.testing.assert_allclose(back.predict_proba(df[["b", "a"]]), fitted.predict_proba(df), atol=1e-6)


def test_bare_array_model_reads_a_csv_of_the_same_numbers(frame, tmp_path, monkeypatch):
    df, y = frame
    clf = mlpnet.MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(df.to_numpy(), y)
    model = clf.save(tmp_path / "bare.npz")
    monkeypatch.chdir(tmp_path)
    df.rename(columns={"a": "sepal", "b": "petal"}).to_csv("rows.csv", index=False)
    df.to_csv("plain.csv", index=False, header=False)
    runner = CliRunner()
    for name in ("rows.csv", "plain.csv"):
        out = runner.invoke(main, ["predict", "--model", str(model), "--json", name])
        assert out.exit_code == 0, out.output

        got = json.loads(out.stdout)
        assert [int(p["label"]) for p in got] == list(clf.predict(df.to_numpy()))
    df.assign(x=1.0).to_csv("wide.csv", index=False)
    out = runner.invoke(main, ["predict", "--model", str(model), "wide.csv"])
    assert out.exit_code != 0 and "by position" in out.output
    # evaluate reads a labelled CSV of the same numbers by position too (the label column apart)
    df.rename(columns={"a": "p", "b": "q"}).assign(species=y).to_csv("labelled.csv", index=False)
    out = runner.invoke(main, ["evaluate", "--model", str(model), "--json", "--set", "data.dataset=csv",
                               "--set", "data.path=labelled.csv", "--set", "data.label_column=species"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["accuracy"] > 0.9


def test_dataframe_model_evaluates_a_reordered_csv_by_name(fitted, frame, tmp_path, monkeypatch):
    df, y = frame
    model = fitted.save(tmp_path / "named.npz")
    monkeypatch.chdir(tmp_path)
    df[["b", "a"]].assign(label=y).to_csv("swapped.csv", index=False)
    out = CliRunner().invoke(main, ["evaluate", "--model", str(model), "--json", "--set", "data.dataset=csv",
                                    "--set", "data.path=swapped.csv"])
    assert out.exit_code == 0, out.output

    assert json.loads(out.stdout)["accuracy"] > 0.9
