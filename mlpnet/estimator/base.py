"""What ``MLPClassifier`` and ``MLPRegressor`` share: parameters, validation, the fit, inference, files.

A script written for ``sklearn.neural_network`` runs with only its import changed: the
constructors take scikit-learn's parameter names with their meanings (``mlpnet.params``
holds the table, with mlpnet's own parameters and the config key each one is saved as),
and ``fit``, ``partial_fit``, ``predict``, ``predict_proba``, ``score`` and the fitted
attributes (``coefs_``, ``intercepts_``, ``loss_curve_``, ``n_iter_``, ``t_``, ...) behave as
scikit-learn's. What mlpnet adds: tabular inputs are standardized with statistics of the
training rows (and regression targets too, restored on output), 28x28 images are scaled by
1/255, sample and class weights, dropout, absolute and Huber losses, and ``save``/``load``
to the ordinary checkpoint that ``mlpnet info/evaluate/predict/serve/export`` read.

scikit-learn is not needed. When it is installed the classes derive from its
``BaseEstimator`` and mixins, so they are full citizens of ``Pipeline``, ``GridSearchCV``,
``clone`` and ``check_estimator``; without it, a small stand-in base gives the same
``get_params``/``set_params``/``score``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__, checkpoint, params as P
from ..checkpoint import Meta
from ..config import Config, from_dict
from ..data.spec import InputSpec
from ..errors import DataError
from ..nn import MLP, Architecture, activations, losses, optimizers
from ..train.sizing import blas_threads
from ..train.stochastic import Progress, Settings, fit_epochs
from .checks import (_check_weights, _check_X, _feature_names, _fit_stats, _float64_copy, _holdout, _input_info,
                     _listed, _mappings, _seed, _threads)

try:  # scikit-learn is optional: derive from its base classes when it is there
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClassifierMixin as _ClassifierMixin
    from sklearn.base import RegressorMixin as _RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.exceptions import DataConversionWarning as _ConversionWarning
    from sklearn.exceptions import NotFittedError
except ImportError:  # pragma: no cover - exercised in the no-sklearn test, in a subprocess
    _ConversionWarning = UserWarning
    ConvergenceWarning = UserWarning

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before ``fit``."""

    class _Base:
        """``get_params``/``set_params``/``repr`` from the ``__init__`` signature, as scikit-learn does."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            return sorted(p.name for p in inspect.signature(cls.__init__).parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep: bool = True) -> dict:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; valid: {', '.join(valid)}")
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            default = inspect.signature(type(self).__init__).parameters
            changed = [f"{k}={v!r}" for k, v in self.get_params().items() if default[k].default != v]
            return f"{type(self).__name__}({', '.join(changed)})"

    class _ClassifierMixin:
        _estimator_type = "classifier"

        def score(self, X, y, sample_weight=None) -> float:
            """Mean accuracy of ``predict(X)`` against ``y`` (subset accuracy for multilabel)."""
            right = self.predict(X) == np.asarray(y)
            if right.ndim == 2:
                right = right.all(axis=1)
            return float(np.average(right, weights=sample_weight))

    class _RegressorMixin:
        _estimator_type = "regressor"

        def score(self, X, y, sample_weight=None) -> float:
            """R^2 of ``predict(X)`` against ``y`` (averaged over targets)."""
            from ..metrics import regression_report
            return regression_report(np.asarray(y, float), self.predict(X), sample_weight)["r2"]


_OLD = "deprecated"
"""Default of the released parameter names (``hidden``, ``lr``, ...): not given."""
_OLD_NAME = {new: old for old, new in P.DEPRECATED.items()}


class _MLP(_Base):
    """What the classifier and the regressor share: validation, the fit loop, inference, files."""

    _task_default = "classification"

    def _set(self, values: dict) -> None:
        for key, value in values.items():
            if key not in ("self", "__class__"):
                setattr(self, key, value)

    def _get(self, name: str):
        """Parameter ``name``, or the value given under its released name (deprecated) when that was set."""
        old = _OLD_NAME.get(name)
        value = getattr(self, old, _OLD) if old else _OLD
        if isinstance(value, str) and value == _OLD:
            return getattr(self, name)
        if name == "max_iter" and value is None:
            return getattr(self, name)
        return value

    def _warn_deprecated(self) -> None:
        for old, new in P.DEPRECATED.items():
            value = getattr(self, old, _OLD)
            if not (isinstance(value, str) and value == _OLD):
                warnings.warn(f"{type(self).__name__}({old}=...) is deprecated; use {new} (scikit-learn's name; "
                              "see docs/guide/python-api.md)", DeprecationWarning, stacklevel=4)

    # -- public training API --------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train on ``X (n_samples, n_features)`` (dense, scipy CSR, or 28x28 images ``(n, 28, 28)``) and ``y``.

        ``y`` is ``(n,)`` labels or ``(n, k)`` 0/1 indicators (multilabel) for the classifier,
        ``(n,)`` or ``(n, k)`` numbers for the regressor. ``sample_weight (n,)`` weighs each row's loss.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """One epoch over ``X, y``, keeping every piece of state for the next call (streaming data)."""
        if self._get("solver") == "lbfgs":
            raise AttributeError("partial_fit is only available for the stochastic solvers (sgd, adam), not lbfgs")
        if self.early_stopping is True:
            raise ValueError("partial_fit does not support early_stopping=True")
        return self._fit(X, y, sample_weight, incremental=True, **kwargs)

    # -- the fit -------------------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental: bool, classes=None):
        self._warn_deprecated()
        fitted = hasattr(self, "model_")
        reset = not fitted or (not incremental and not self.warm_start)
        if incremental and not fitted and self._task_default == "classification" and classes is None \
                and np.ndim(y) < 2:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        hidden = self._hidden()
        x, kind = _check_X(X, training=True)
        if not reset and x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        targets = self._targets(y, x.shape[0], reset, classes)
        w = _check_weights(sample_weight, x.shape[0])
        w = self._class_weights(targets, w)
        if reset:
            self._set_feature_names(X)
            self.n_features_in_ = x.shape[1]
            self.input_ = InputSpec.from_dict(_input_info(x, kind, getattr(self, "feature_names_in_", None)),
                                              _fit_stats(x, kind, w))
            self._dtype = np.dtype(self.dtype or ("float32" if x.dtype == np.float32 or kind == "image"
                                                  else "float64"))
        targets = self._scaled_targets(targets, w, reset)
        net_x = self._network_input(x, self._dtype)
        if reset or not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(_seed(self.random_state))
        rng = self._rng
        if reset:
            self._build(net_x.shape[1], targets, hidden, rng)
        echo = print  # scikit-learn prints its iterations on stdout
        if self._get("solver") == "lbfgs":
            self._fit_lbfgs(net_x, targets, w)
        else:
            self._fit_stochastic(net_x, targets, w, incremental, reset, rng, echo)
        self._inference = _float64_copy(self.model_)
        self.config_ = self._config(x.shape[0])
        return self

    def _build(self, n_in: int, targets: np.ndarray, hidden: tuple[int, ...], rng) -> None:
        """A fresh network for this data, initialised as scikit-learn does (Glorot uniform, biases too)."""
        n_out = self._n_outputs(targets)
        activation = P.ACTIVATION_ALIASES.get(self.activation, self.activation)
        if activation not in activations.HIDDEN:
            valid = ", ".join(["logistic", *activations.HIDDEN])
            raise ValueError(f"activation={self.activation!r} is not one of {valid}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        arch = Architecture((n_in, *hidden, n_out), activation, self._output(), float(self.dropout),
                            dtype=self._dtype.name)
        model = MLP(arch)
        factor = 2.0 if activation == "sigmoid" else 6.0
        for w_, b_ in zip(model.weights, model.biases):
            bound = math.sqrt(factor / (w_.shape[0] + w_.shape[1]))
            w_[...] = rng.uniform(-bound, bound, w_.shape)
            b_[...] = rng.uniform(-bound, bound, b_.shape)
        self.model_ = model
        self.n_layers_ = len(arch.sizes)
        self.n_outputs_ = n_out if self._task != "classification" else (1 if n_out == 2 else n_out)
        self.out_activation_ = {"sigmoid": "logistic"}.get(self._output(), self._output())
        self.n_iter_ = 0
        self.t_ = 0
        self._progress = None

    def _loss(self) -> losses.Loss:
        name = self._loss_name()
        if name not in losses.LOSSES or losses.LOSSES[name].task != self._task:
            valid = [k for k, c in losses.LOSSES.items() if c.task == self._task]
            raise ValueError(f"loss={name!r} is not a {self._task} loss; choose one of {', '.join(valid)}")
        return losses.get(name, getattr(self, "label_smoothing", 0.0) if self._task == "classification" else 0.0)

    def _settings(self, n: int) -> Settings:
        bs = self.batch_size
        if bs is None or bs == "auto":
            batch = min(200, n)
        else:
            if not isinstance(bs, (int, np.integer)) or isinstance(bs, bool) or bs < 1:
                raise ValueError(f"batch_size must be 'auto' or a positive integer, got {bs!r}")
            if bs > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
                              UserWarning, stacklevel=4)
            batch = int(min(bs, n))
        if self._get("learning_rate") not in ("constant", "invscaling", "adaptive"):
            raise ValueError(f"learning_rate must be one of constant, invscaling, adaptive, got {self._get('learning_rate')!r}")
        for name in ("max_iter", "n_iter_no_change"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        return Settings(batch_size=batch, max_iter=int(self._get("max_iter")), shuffle=bool(self.shuffle), tol=float(self.tol),
                        n_iter_no_change=int(self._patience()), alpha=float(self._get("alpha")),
                        learning_rate=self._get("learning_rate"), learning_rate_init=float(self._get("learning_rate_init")),
                        power_t=float(self.power_t), solver=self._get("solver"), verbose=bool(self.verbose))

    def _fit_stochastic(self, x, targets, w, incremental: bool, reset: bool, rng, echo) -> None:
        if self._get("solver") not in ("adam", "sgd", "adamw"):
            raise ValueError(f"solver must be one of adam, sgd, lbfgs (or mlpnet's adamw), got {self._get('solver')!r}")
        model = self.model_
        early = self._early() and not incremental
        new_opt = reset or not incremental or getattr(self, "_opt", None) is None
        if new_opt:
            self._opt = optimizers.build(self._get("solver"), model.n_params, model.n_weights, dtype=model.dtype,
                                         momentum=self.momentum, nesterov=self.nesterovs_momentum,
                                         beta1=self.beta_1, beta2=self.beta_2, eps=self.epsilon,
                                         weight_decay=0.0)
        p = self._progress
        if p is None or (reset and not incremental):
            p = Progress(lr=float(self._get("learning_rate_init")))
            p.validation_scores = [] if early else None
            p.best_loss = None if early else math.inf
            p.best_validation_score = -math.inf if early else None
        if early and p.validation_scores is None:  # warm start into early stopping
            p.validation_scores, p.best_validation_score, p.best_loss = [], -math.inf, None
        p.n_iter, p.best_params = 0, None
        self._progress = p
        val_score = None
        if early:
            train_idx, val_idx = _holdout(targets, self._task, float(self._get("validation_fraction")), rng)
            if len(val_idx) < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size "
                                 "of your dataset.")
            xv, yv = x[val_idx], self._unscaled(targets[val_idx])
            wv = None if w is None else w[val_idx]
            x, targets = x[train_idx], targets[train_idx]
            w = None if w is None else w[train_idx]
            val_score = lambda: self._score_network(xv, yv, wv)  # noqa: E731
        s = self._settings(x.shape[0])
        threads = blas_threads(self.threads, model.arch.sizes, min(s.batch_size, x.shape[0]))
        with _threads(threads), np.errstate(over="ignore", invalid="ignore", under="ignore"):
            converged = fit_epochs(model, self._loss(), self._opt, x, targets, w, s, p, rng,
                                   incremental=incremental, val_score=val_score, echo=echo)
        self.n_iter_ = p.n_iter
        self.t_ = p.t
        self.loss_curve_ = list(p.loss_curve)
        self.loss_ = p.loss_curve[-1] if p.loss_curve else math.nan
        self.best_loss_ = p.best_loss
        self.validation_scores_ = None if p.validation_scores is None else list(p.validation_scores)
        self.best_validation_score_ = p.best_validation_score
        scores = p.validation_scores or []
        # mlpnet 0.2's per-epoch rows, kept for released scripts (val_loss is NaN: no validation loss here)
        self.history_ = [{"epoch": i + 1, "train_loss": v, "val_loss": math.nan,
                          **({"val_score": scores[i]} if i < len(scores) else {})} for i, v in enumerate(p.loss_curve)]
        self.best_epoch_ = (int(np.argmax(scores)) + 1) if scores else len(p.loss_curve)
        if not converged and not incremental and p.n_iter == s.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({s.max_iter}) reached and the optimization "
                          "hasn't converged yet.", ConvergenceWarning, stacklevel=3)

    def _fit_lbfgs(self, x, targets, w) -> None:
        try:
            from scipy.optimize import minimize
        except ImportError:
            raise ImportError("solver='lbfgs' needs scipy (pip install scipy); or use solver='adam' or 'sgd'") from None
        model, loss, alpha = self.model_, self._loss(), float(self._get("alpha"))
        if model.dtype != np.float64:  # L-BFGS works in float64: the line search needs the precision
            model = _float64_copy(model)
            x = x.astype(np.float64)
        norm = float(x.shape[0] if w is None else w.sum())
        weights = model.params[:model.n_weights]

        def value_and_grad(params: np.ndarray):
            model.params[...] = params
            out = model.forward(x)
            value = loss.value(out, targets, w)
            delta = model.output_delta(x.shape[0])
            loss.delta(out, targets, model.grad_output, delta, w)
            model.backward(delta)
            grads = model.grads.copy()
            grads[:model.n_weights] += (alpha / norm) * weights
            return (value + 0.5 * alpha * float(weights @ weights)) / norm, grads

        with _threads(self.threads), np.errstate(over="ignore", invalid="ignore", under="ignore"):
            res = minimize(value_and_grad, model.params.copy(), method="L-BFGS-B", jac=True,
                           options={"maxfun": int(self.max_fun), "maxiter": int(self._get("max_iter")),
                                    "gtol": float(self.tol)})
        if res.status == 1:
            warnings.warn(f"lbfgs failed to converge after {res.nit} iterations (max_iter={self._get('max_iter')}); "
                          "increase max_iter", ConvergenceWarning, stacklevel=3)
        self.model_.params[...] = res.x
        self.n_iter_ = int(res.nit)
        self.t_ = x.shape[0] * self.n_iter_
        self.loss_ = float(res.fun)
        self.loss_curve_, self.best_loss_, self.validation_scores_, self.best_validation_score_ = None, None, None, None

    # -- parameters ------------------------------------------------------------------------

    def _hidden(self) -> tuple[int, ...]:
        h = self._get("hidden_layer_sizes")
        sizes = tuple(int(v) for v in (h if hasattr(h, "__iter__") else [h]))
        if any(v <= 0 for v in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return sizes

    def _early(self) -> bool:
        e = self.early_stopping
        if isinstance(e, (int, np.integer)) and not isinstance(e, bool):
            return e > 0  # mlpnet 0.2's patience in epochs (deprecated): see _patience
        return bool(e)

    def _patience(self) -> int:
        e = self.early_stopping
        if isinstance(e, (int, np.integer)) and not isinstance(e, bool) and e > 0:
            warnings.warn("early_stopping=<epochs> is deprecated; use early_stopping=True and n_iter_no_change",
                          DeprecationWarning, stacklevel=5)
            return int(e)
        return int(self.n_iter_no_change)

    def _config(self, n: int) -> Config:
        """The run config these parameters describe (saved in checkpoints), through ``params.PARAMS``."""
        s_batch = min(200, n) if self.batch_size in (None, "auto") else int(min(self.batch_size, n))
        values = {
            "hidden_layer_sizes": [int(h) for h in self._hidden()],
            "activation": P.ACTIVATION_ALIASES.get(self.activation, self.activation),
            "solver": self._get("solver") if self._get("solver") != "lbfgs" else "adam",
            "alpha": float(self._get("alpha")) / max(s_batch, 1),
            "batch_size": s_batch,
            "learning_rate": self._get("learning_rate") if self._get("learning_rate") in ("constant", "cosine", "step") else "constant",
            "learning_rate_init": float(self._get("learning_rate_init")),
            "max_iter": int(min(max(self._get("max_iter"), 1), 100_000)),
            "shuffle": bool(self.shuffle),
            "random_state": _seed(self.random_state) if not isinstance(self.random_state, int) else self.random_state,
            "momentum": float(min(self.momentum, 0.999)),
            "nesterovs_momentum": bool(self.nesterovs_momentum),
            "early_stopping": self._patience() if self._early() else 0,
            "validation_fraction": float(self._get("validation_fraction")) if self._early() else 0.0,
            "beta_1": float(self.beta_1), "beta_2": float(self.beta_2), "epsilon": float(self.epsilon),
            "loss": self._loss_name(), "dropout": float(self.dropout), "threads": self.threads,
        }
        if self._task == "classification":
            values["label_smoothing"] = float(self.label_smoothing)
        raw: dict = {"name": type(self).__name__, "data": {"dataset": "arrays"}}
        table = P.by_name()
        for name, value in values.items():
            node, parts = raw, table[name].key.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        raw.setdefault("train", {}).update({"min_steps": 0, "min_batches": 0, "monitor": "val_loss"})
        raw["model"]["init"] = "xavier"
        return from_dict(raw, type(self).__name__)

    # -- inference -----------------------------------------------------------------------

    def _network_input(self, x, dtype) -> np.ndarray:
        """Network inputs from validated raw rows: the model contract's transform (1/255 for images,
        the training rows' standardization for tables), and nothing for sparse rows."""
        if hasattr(x, "tocsr"):
            return x.astype(dtype)
        return self.input_.to_network(x, dtype)

    def _outputs(self, X) -> np.ndarray:
        """Network outputs ``(n, n_out)`` for raw inputs in the training data's form."""
        self._check_fitted()
        X = self._align_columns(X)
        spec = self.input_
        if spec.kind == "table" and spec.csv is not None and not spec.csv.get("image"):
            try:  # a CSV model reads raw rows: words and missing values as its file had them
                return self._forward(spec.to_network(X, np.float64))
            except DataError as err:
                raise ValueError(str(err)) from None
        x, _ = _check_X(X, training=False)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {x.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        return self._forward(self._network_input(x, np.dtype(np.float64)))

    def _forward(self, net_x) -> np.ndarray:
        """The float64 network over ``net_x`` in batches (each row's answer is independent of the rest)."""
        model = self._inference
        if not hasattr(net_x, "tocsr"):
            return model.predict_proba(net_x)
        out = np.empty((net_x.shape[0], model.arch.sizes[-1]))
        for start in range(0, net_x.shape[0], 4096):
            part = net_x[start:start + 4096]
            out[start:start + part.shape[0]] = model.forward(part)
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices ``(n_in, n_out)`` per layer (acting on standardized inputs)."""
        if not hasattr(self, "model_"):
            raise AttributeError("coefs_")
        return [w.copy() for w in self.model_.weights]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors ``(n_out,)`` per layer."""
        if not hasattr(self, "model_"):
            raise AttributeError("intercepts_")
        return [b.copy() for b in self.model_.biases]

    def _set_feature_names(self, X) -> None:
        names = _feature_names(X)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _align_columns(self, X):
        """``X`` with its columns in the order seen in ``fit``, matched by name when both sides have names.

        As scikit-learn, warns when names appear or disappear between ``fit`` and now; unlike
        it, a DataFrame whose columns are the fitted ones in another order is reordered
        rather than refused (the columns are matched by name, as in a CSV file).
        """
        given = _feature_names(X)
        fitted = getattr(self, "feature_names_in_", None)
        cls = type(self).__name__
        if given is None or fitted is None:
            if given is not None:
                warnings.warn(f"X has feature names, but {cls} was fitted without feature names", UserWarning,
                              stacklevel=4)
            elif fitted is not None and not _mappings(X):
                warnings.warn(f"X does not have valid feature names, but {cls} was fitted with feature names",
                              UserWarning, stacklevel=4)
            return X
        given, fitted = [str(g) for g in given], [str(f) for f in fitted]
        if given == fitted:
            return X
        unseen = [g for g in given if g not in fitted]
        missing = [f for f in fitted if f not in given]
        twice = sorted({g for g in given if given.count(g) > 1})
        if unseen or missing or twice:
            parts = ([f"unseen at fit time: {_listed(unseen)}"] * bool(unseen)
                     + [f"seen at fit time, yet now missing: {_listed(missing)}"] * bool(missing)
                     + [f"given twice: {_listed(twice)}"] * bool(twice))
            raise ValueError(f"The feature names should match those that were passed during fit; feature names "
                             f"{'; '.join(parts)} (fitted on {_listed(fitted)})")
        return X[fitted]  # same names, another order: match them by name

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_inference", None)  # rebuilt from model_
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "model_" in state:
            self._inference = _float64_copy(self.model_)

    # -- files ------------------------------------------------------------------------------

    def _best_record(self) -> dict:
        """The checkpoint's ``best`` entry named by what was measured: the validation score with
        ``early_stopping`` (accuracy, or R^2 for a regressor), else the training loss."""
        if getattr(self, "validation_scores_", None):
            return {"epoch": self.n_iter_, "monitor": "val_score", "value": self.best_validation_score_}
        return {"epoch": self.n_iter_, "monitor": "train_loss", "value": getattr(self, "loss_", None)}

    def save(self, path: str | Path) -> Path:
        """Write the ordinary checkpoint ``.npz`` (read by ``mlpnet info`` and :func:`mlpnet.load`)."""
        self._check_fitted()
        cfg = self.config_
        history = [dict(r) for r in getattr(self, "history_", [])]
        meta = Meta(classes=[str(c) for c in getattr(self, "classes_", [])], input=self.input_, config=cfg.to_dict(),
                    mlpnet_version=__version__, trained_from="arrays", epoch=self.n_iter_, run_epochs=self.n_iter_,
                    metrics=history[-1] if history else {}, history=history, status="completed",
                    best=self._best_record(),
                    created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    target_stats=dict(getattr(self, "target_stats_", {})), **self._meta())
        model = self.model_
        if model.dtype != np.float32:  # checkpoints hold float32 networks, as the CLI's
            a = model.arch
            model = MLP(Architecture(a.sizes, a.activation, a.output, a.dropout))
            model.params[...] = self.model_.params
        checkpoint.save(path, model, meta)
        return Path(path)
