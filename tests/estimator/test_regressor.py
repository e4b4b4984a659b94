"""MLPRegressor and the rest of scikit-learn's MLP surface: regression, weights, multilabel,
partial_fit, warm_start, sparse inputs, lbfgs, the released parameter names, and bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import skip_reason

import mlpnet
from mlpnet.estimator import MLPClassifier, MLPRegressor


def _friedman(n=400, seed=0, scale=1000.0, offset=5000.0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 5))
    y = 10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2 + 10 * x[:, 3] + 5 * x[:, 4]
    return x * 50 - 20, y * scale + offset  # wide features and targets far from 0: need standardizing


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def test_regressor_learns_and_returns_values_in_the_targets_units():
    x, y = _friedman()
    reg = _quiet(MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=0).fit, x[:300], y[:300])
    pred = reg.predict(x[300:])
    assert pred.shape == (100,) and abs(pred.mean() - y[300:].mean()) < 0.1 * y.std()
    assert reg.score(x[300:], y[300:]) > 0.8
    assert reg.out_activation_ == "identity" and reg.n_outputs_ == 1 and reg.n_layers_ == 3
    assert reg.target_stats_["mean"][0] == pytest.approx(y[:300].mean())
    assert len(reg.loss_curve_) == reg.n_iter_ and reg.t_ == 300 * reg.n_iter_
    assert reg.best_loss_ == min(reg.loss_curve_)
    assert [c.shape for c in reg.coefs_] == [(5, 32), (32, 1)] and [b.shape for b in reg.intercepts_] == [(32,), (1,)]


def test_several_targets_and_every_loss():
    x, y = _friedman()
    y2 = np.column_stack([y, -2 * y + 7])
    for loss in ("squared_error", "absolute_error", "huber"):
        reg = _quiet(MLPRegressor(loss=loss, hidden_layer_sizes=(32,), max_iter=200, random_state=0).fit, x, y2)
        assert reg.predict(x).shape == (400, 2), loss
        assert reg.score(x, y2) > 0.7, loss
    with pytest.raises(ValueError, match="loss='cross_entropy' is not a regression loss; choose one of squared_error"):
        MLPRegressor(loss="cross_entropy").fit(x, y)


def test_sample_weight_zero_is_the_row_left_out_and_two_is_it_twice():
    x, y = _friedman(n=60)
    w = np.arange(60) % 3  # weights 0, 1, 2
    rows = np.repeat(np.arange(60), w)
    kw = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=0, batch_size=1000)  # one full batch per epoch
    a = _quiet(MLPRegressor(**kw).fit, x, y, sample_weight=w).predict(x)
    b = _quiet(MLPRegressor(**kw).fit, x[rows], y[rows]).predict(x)
    np.testing.assert_allclose(a, b, rtol=1e-7)


def test_class_weight_balanced_lifts_the_rare_class():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 2))
    y = (x[:, 0] + 0.8 * rng.normal(size=600) > 1.6).astype(int)  # about 7% positives, overlapping
    plain = _quiet(MLPClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0).fit, x, y)
    fair = _quiet(MLPClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0, class_weight="balanced").fit,
                  x, y)
    assert (fair.predict(x) == 1).sum() > (plain.predict(x) == 1).sum()
    mapped = _quiet(MLPClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0,
                                  class_weight={0: 1.0, 1: 10.0}).fit, x, y)
    assert (mapped.predict(x) == 1).sum() > (plain.predict(x) == 1).sum()
    with pytest.raises(ValueError, match="class_weight names labels that are not in y"):
        MLPClassifier(class_weight={5: 2.0}).fit(x, y)


def test_multilabel_indicator_targets():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4))
    y = np.column_stack([x[:, 0] > 0, x[:, 1] > 0, x[:, 0] + x[:, 1] > 0]).astype(int)
    clf = _quiet(MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0).fit, x, y)
    pred = clf.predict(x)
    assert pred.shape == (400, 3) and set(np.unique(pred)) <= {0, 1}
    assert clf.out_activation_ == "logistic" and list(clf.classes_) == [0, 1, 2]
    assert clf.score(x, y) > 0.85  # subset accuracy
    p = clf.predict_proba(x)
    assert p.shape == (400, 3) and not np.allclose(p.sum(axis=1), 1)  # independent labels


def test_partial_fit_streams_chunks_and_needs_classes_first():
    x, y = _friedman(n=600)
    labels = (y > np.median(y)).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        clf.partial_fit(x[:100], labels[:100])
    for epoch in range(20):
        for start in range(0, 600, 100):
            clf.partial_fit(x[start:start + 100], labels[start:start + 100], classes=[0, 1])
    assert clf.score(x, labels) > 0.85
    assert clf.t_ == 600 * 20 and list(clf.classes_) == [0, 1]
    reg = MLPRegressor(hidden_layer_sizes=(16,), random_state=0)
    for start in range(0, 600, 200):
        reg.partial_fit(x[start:start + 200], y[start:start + 200])
    assert reg.n_iter_ == 1 and reg.t_ == 600
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPRegressor(early_stopping=True).partial_fit(x, y)


def test_warm_start_continues_from_the_fitted_weights():
    x, y = _friedman()
    reg = _quiet(MLPRegressor(hidden_layer_sizes=(16,), max_iter=5, warm_start=True, random_state=0).fit, x, y)
    first = reg.coefs_[0].copy()
    curve = len(reg.loss_curve_)
    _quiet(reg.fit, x, y)
    assert len(reg.loss_curve_) == curve + 5  # the curve goes on
    cold = _quiet(MLPRegressor(hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit, x, y)
    np.testing.assert_allclose(cold.coefs_[0], first)  # a cold fit starts over
    assert not np.allclose(reg.coefs_[0], first)


def test_early_stopping_keeps_the_best_validation_score():
    x, y = _friedman(n=500)
    reg = _quiet(MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, early_stopping=True, random_state=0).fit, x, y)
    assert reg.validation_scores_ and reg.best_validation_score_ == max(reg.validation_scores_)
    assert reg.best_loss_ is None


def test_sparse_csr_is_multiplied_without_densifying(monkeypatch):
    sparse = pytest.importorskip("scipy.sparse", reason=skip_reason("scipy"))
    rng = np.random.default_rng(0)
    dense = (rng.uniform(size=(300, 200)) < 0.03) * rng.uniform(1, 3, (300, 200))
    y = (dense[:, :100].sum(axis=1) > dense[:, 100:].sum(axis=1)).astype(int)
    x = sparse.csr_matrix(dense)
    monkeypatch.setattr(type(x), "toarray", lambda *a, **k: pytest.fail("densified"))
    clf = _quiet(MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit, x, y)
    assert clf.score(x, y) > 0.9
    np.testing.assert_allclose(clf.predict_proba(x), clf.predict_proba(dense), atol=1e-10)


def test_lbfgs_uses_scipy():
    pytest.importorskip("scipy", reason=skip_reason("scipy"))
    x, y = _friedman(n=200)
    reg = _quiet(MLPRegressor(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit, x, y)
    assert reg.score(x, y) > 0.9 and reg.n_iter_ > 1 and reg.loss_curve_ is None
    with pytest.raises(AttributeError, match="partial_fit is only available for the stochastic solvers"):
        MLPRegressor(solver="lbfgs").partial_fit(x, y)


def test_released_names_still_work_with_a_deprecation_warning():
    x, y = _friedman(n=200)
    labels = (y > np.median(y)).astype(int)
    with pytest.warns(DeprecationWarning, match=r"MLPClassifier\(hidden=...\) is deprecated; use hidden_layer_sizes"):
        clf = MLPClassifier(hidden=(7,), epochs=3, lr=0.01, random_state=0).fit(x, labels)
    assert clf.coefs_[0].shape == (5, 7) and clf.n_iter_ <= 3
    assert mlpnet.params.DEPRECATED["epochs"] == "max_iter"


def test_every_parameter_is_in_the_one_table():
    table = mlpnet.params.by_name()
    for cls in (MLPClassifier, MLPRegressor):
        names = set(cls().get_params()) - set(mlpnet.params.DEPRECATED)
        assert names <= set(table), names - set(table)


def test_bad_targets_and_weights_are_one_clear_line():
    x, y = _friedman(n=50)
    cases = [
        (lambda: MLPClassifier().fit(x, y / 7.3), "Unknown label type: continuous"),
        (lambda: MLPRegressor().fit(x, np.array(["a", "b"] * 25)), "needs numeric targets, but y holds words"),
        (lambda: MLPRegressor().fit(x, np.where(y > y.mean(), np.nan, y)), "Input y contains NaN"),
        (lambda: MLPRegressor().fit(x, np.where(y > y.mean(), np.inf, y)), "Input y contains infinity"),
        (lambda: MLPRegressor().fit(x, y, sample_weight=np.ones(49)), r"sample_weight.shape == \(49,\), expected \(50,\)"),
        (lambda: MLPRegressor().fit(x, y, sample_weight=-np.ones(50)), "sample_weight has negative values"),
        (lambda: MLPRegressor().fit(x, y, sample_weight=np.zeros(50)), "at least one non-zero"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            call()
        assert "\n" not in str(err.value)


def test_regressor_save_and_load_round_trip(tmp_path):
    x, y = _friedman(n=200)
    reg = _quiet(MLPRegressor(hidden_layer_sizes=(16,), max_iter=50, random_state=0).fit, x, y)
    back = mlpnet.load(reg.save(tmp_path / "r.npz"))
    assert isinstance(back, MLPRegressor)
    np.testing.assert_allclose(back.predict(x), reg.predict(x), rtol=1e-4)


def test_a_run_config_refuses_a_loss_of_another_task_in_one_line():
    from mlpnet import config
    from mlpnet.errors import ConfigError

    assert config.load(None, ["loss=huber"]).loss == "huber"  # mlpnet train regresses too (task auto/regression)
    with pytest.raises(ConfigError, match="loss: 'huber' is a regression loss, and task is classification"):
        config.load(None, ["loss=huber", "task=classification"])
