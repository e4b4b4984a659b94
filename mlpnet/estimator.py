"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's MLPs, on mlpnet's network; and ``load``.

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
from pathlib import Path

import numpy as np

from . import __version__, checkpoint, params as P
from .config import Config, from_dict
from .data import MNIST_INPUT, images
from .data.csv import encode_rows, raw_columns
from .data.transforms import raw_to_input
from .errors import DataError, ImageError
from .nn import MLP, Architecture, activations, losses, optimizers
from .train.stochastic import Progress, Settings, fit_epochs

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
            from .metrics import regression_report
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
            self.input_ = _input_info(x, kind, getattr(self, "feature_names_in_", None))
            self.stats_ = _fit_stats(x, kind, w)
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
        with _threads(self.threads), np.errstate(over="ignore", invalid="ignore", under="ignore"):
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
        raw: dict = {"name": type(self).__name__, "task": self._task, "data": {"dataset": "arrays"}}
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
        """The one transform from validated raw rows to network inputs: 1/255 for images,
        the training rows' standardization for tables, nothing for sparse rows."""
        if hasattr(x, "tocsr"):
            return x.astype(dtype)
        if self.input_.get("kind") == "image":
            out = x.astype(dtype)
            out *= dtype.type(1.0 / 255.0) if hasattr(dtype, "type") else 1.0 / 255.0
            return out
        st = self.stats_
        if not st:
            return np.asarray(x, dtype=dtype)
        out = (x - st["mean"].astype(np.float64)) / st["std"].astype(np.float64)
        return np.ascontiguousarray(out, dtype=dtype)

    def _outputs(self, X) -> np.ndarray:
        """Network outputs ``(n, n_out)`` for raw inputs in the training data's form."""
        self._check_fitted()
        schema = self.input_.get("csv") if self.input_.get("kind") == "tabular" else None
        if schema is not None:  # a CSV model reads raw rows: words and missing values as its file had them
            try:
                encoded = encode_rows(X, schema)
            except DataError as err:
                raise ValueError(str(err)) from None
            return self._inference.predict_proba(raw_to_input(encoded, self.input_, self.stats_, 1.0))
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
        names = getattr(X, "columns", None)
        if names is not None and all(isinstance(c, str) for c in names):
            self.feature_names_in_ = np.asarray(list(names), dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_inference", None)  # rebuilt from model_
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if "model_" in state:
            self._inference = _float64_copy(self.model_)

    # -- files ------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the ordinary checkpoint ``.npz`` (read by ``mlpnet info/evaluate/predict`` and :func:`load`)."""
        self._check_fitted()
        cfg = self.config_
        curve = self.loss_curve_ or []
        history = [{"epoch": i + 1, "train_loss": v} for i, v in enumerate(curve)]
        meta = {"mlpnet_version": __version__, "task": self._task, "input": self.input_, "config": cfg.to_dict(),
                "epoch": self.n_iter_, "run_epochs": self.n_iter_, "metrics": history[-1] if history else {},
                "history": history, "status": "completed", "trained_from": "arrays",
                "best": {"epoch": self.n_iter_, "monitor": cfg.train.monitor}, **self._meta()}
        arrays = {f"input.{k}": v for k, v in self.stats_.items()}
        arrays.update({f"target.{k}": v for k, v in getattr(self, "target_stats_", {}).items()})
        model = self.model_
        if model.dtype != np.float32:  # checkpoints hold float32 networks, as the CLI's
            a = model.arch
            model = MLP(Architecture(a.sizes, a.activation, a.output, a.dropout))
            model.params[...] = self.model_.params
        checkpoint.save(path, model, meta, arrays)
        return Path(path)


class MLPClassifier(_ClassifierMixin, _MLP):
    """A multilayer perceptron classifier (single-label or multilabel), scikit-learn's parameters.

    Parameters are scikit-learn's ``MLPClassifier``'s, with their meanings (see
    ``sklearn.neural_network.MLPClassifier``), plus mlpnet's own: ``dropout``, ``label_smoothing``,
    ``class_weight`` (``"balanced"`` or ``{label: weight}``), ``loss`` (``cross_entropy``, or
    ``mse`` on sigmoid outputs), ``dtype`` and ``threads``. The released names (``hidden``, ``lr``,
    ``epochs``, ...) still work, with a DeprecationWarning. The table of all of them, and the
    config key each is saved as, is ``mlpnet.params.PARAMS``.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
        The labels, in the order of ``predict_proba``'s columns (for multilabel ``y``, ``0..k-1``).
    coefs_, intercepts_ : list of ndarray
    loss_, loss_curve_, best_loss_, validation_scores_, best_validation_score_
    n_iter_, t_, n_layers_, n_outputs_, out_activation_, n_features_in_, feature_names_in_
        As scikit-learn's.
    model_ : mlpnet.nn.MLP
        The network.
    """

    _task_default = "classification"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=1e-4,
                 batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, loss="cross_entropy", dropout=0.0,
                 label_smoothing=0.0, class_weight=None, dtype=None, threads=None, hidden=_OLD, lr=_OLD,
                 weight_decay=_OLD, optimizer=_OLD, schedule=_OLD, epochs=_OLD, val_size=_OLD):
        self._set(dict(locals()))

    @property
    def _task(self) -> str:
        return "multilabel" if getattr(self, "_multilabel", False) else "classification"

    def _loss_name(self) -> str:
        return "binary_cross_entropy" if self._task == "multilabel" else self.loss

    def _output(self) -> str:
        return losses.LOSSES[self._loss_name()].outputs[0]

    def _n_outputs(self, targets) -> int:
        return targets.shape[1] if targets.ndim == 2 else len(self.classes_)

    def _targets(self, y, n: int, reset: bool, classes) -> np.ndarray:
        """Class indices ``(n,)``, or a float 0/1 indicator matrix ``(n, k)`` for multilabel ``y``."""
        y = _check_y_present(y, n)
        if y.ndim == 2 and y.shape[1] > 1:
            if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
                raise ValueError("multilabel y must be a 0/1 indicator matrix (n_samples, n_labels)")
            if reset:
                self._multilabel = True
                self.classes_ = np.arange(y.shape[1])
            elif not getattr(self, "_multilabel", False) or y.shape[1] != len(self.classes_):
                raise ValueError(f"y has {y.shape[1]} label columns, but the model was fitted on "
                                 f"{len(self.classes_)}")
            return y.astype(np.float64)
        y = _check_labels(y)
        if reset:
            self._multilabel = False
            labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if classes is not None and len(np.setdiff1d(np.unique(y), labels)):
                raise ValueError(f"`y` has classes not in `classes`: {np.setdiff1d(np.unique(y), labels)}")
            if len(labels) < 2:
                raise ValueError("y has only 1 class; a classifier needs at least 2 classes")
            self.classes_ = labels
        else:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if len(unseen):
                if self.warm_start and classes is None:
                    raise ValueError(f"warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {np.unique(y)}")
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {np.unique(y)}.")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _class_weights(self, targets, w):
        cw = self.class_weight
        if cw is None:
            return w
        if targets.ndim == 2:
            raise ValueError("class_weight applies to single-label classification, not to a multilabel y")
        k = len(self.classes_)
        if isinstance(cw, str):
            if cw != "balanced":
                raise ValueError(f"class_weight must be 'balanced', a mapping {{label: weight}} or None, got {cw!r}")
            counts = np.bincount(targets, minlength=k).astype(np.float64)
            per_class = np.where(counts > 0, len(targets) / (k * np.maximum(counts, 1)), 0.0)
        elif isinstance(cw, dict):
            unknown = [c for c in cw if c not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(f"class_weight names labels that are not in y: {unknown}")
            per_class = np.array([float(cw.get(c, 1.0)) for c in self.classes_.tolist()])
            if (per_class < 0).any() or not np.isfinite(per_class).all():
                raise ValueError("class_weight values must be finite and non-negative")
        else:
            raise ValueError(f"class_weight must be 'balanced', a mapping {{label: weight}} or None, got {cw!r}")
        out = per_class[targets]
        return out if w is None else out * w

    def _scaled_targets(self, targets, w, reset):
        return targets

    def _unscaled(self, targets):
        return targets

    def _score_network(self, x, targets, w) -> float:
        out = self._outputs_from_network(x)
        if targets.ndim == 2:
            right = ((out > 0.5) == (targets > 0.5)).all(axis=1)
        else:
            right = out.argmax(axis=1) == targets
        return float(np.average(right, weights=w))

    def _outputs_from_network(self, x) -> np.ndarray:
        self._inference = _float64_copy(self.model_)
        return self._forward(x)

    def _meta(self) -> dict:
        return {"classes": [str(c) for c in self.classes_], "labels": _json_labels(self.classes_)}

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` (independent label probabilities for multilabel)."""
        return self._outputs(X)

    def predict_log_proba(self, X) -> np.ndarray:
        """``log(predict_proba(X))``."""
        return np.log(np.maximum(self.predict_proba(X), 1e-300))

    def predict(self, X) -> np.ndarray:
        """Predicted labels ``(n_samples,)`` of the type ``y`` had; an indicator matrix for multilabel."""
        proba = self.predict_proba(X)
        if self._task == "multilabel":
            return (proba > 0.5).astype(np.int64)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_images(self, images_or_paths) -> np.ndarray:
        """Labels for image files or PIL images, preprocessed exactly as ``mlpnet predict`` does."""
        proba = self.predict_images_proba(images_or_paths)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_images_proba(self, images_or_paths) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` for image files or PIL images (see :meth:`predict_images`)."""
        self._check_fitted()
        if self.input_.get("kind") != "image":
            raise DataError("this model reads tabular rows, not images; use predict_proba")
        if isinstance(images_or_paths, (str, Path)) or hasattr(images_or_paths, "getpixel"):
            images_or_paths = [images_or_paths]
        rows = []
        for item in images_or_paths:
            name = str(item) if isinstance(item, (str, Path)) else "<image>"
            img = images.load_image(item) if isinstance(item, (str, Path)) else item
            rows.append(images.network_image(img, self.input_, name=name).reshape(-1))
        if not rows:
            raise ImageError("no images given")
        return self._forward(self._network_input(np.stack(rows), np.dtype(np.float64)))

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``X, y``; ``classes`` (every label there will be) is required on the first call."""
        return super().partial_fit(X, y, sample_weight, classes=classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(_RegressorMixin, _MLP):
    """A multilayer perceptron regressor (one or several targets), scikit-learn's parameters.

    Parameters are scikit-learn's ``MLPRegressor``'s with their meanings, plus mlpnet's own
    (``dropout``, ``dtype``, ``threads``); ``loss`` is ``squared_error`` (default),
    ``absolute_error`` or ``huber`` (quadratic within one standard deviation of the target).
    Targets are standardized for training (statistics of the training rows, weighted), and
    ``predict`` returns them in their own units. ``loss_curve_`` is on the standardized scale.

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, validation_scores_ (R^2),
    best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, out_activation_, n_features_in_
        As scikit-learn's.
    target_stats_ : dict
        ``mean`` and ``std`` of each target (n_outputs,).
    """

    _task_default = "regression"
    _task = "regression"

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate="constant", learning_rate_init=1e-3, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000, dropout=0.0, dtype=None,
                 threads=None, hidden=_OLD, lr=_OLD, weight_decay=_OLD, optimizer=_OLD, schedule=_OLD, epochs=_OLD,
                 val_size=_OLD):
        self._set(dict(locals()))

    def _loss_name(self) -> str:
        return self.loss

    def _output(self) -> str:
        return "identity"

    def _n_outputs(self, targets) -> int:
        return targets.shape[1]

    def _targets(self, y, n: int, reset: bool, classes) -> np.ndarray:
        y = _check_y_present(y, n)
        if y.dtype.kind in "OUS":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError("MLPRegressor needs numeric targets, but y holds words; use MLPClassifier for "
                                 "class labels") from None
        if y.dtype.kind not in "biuf":
            raise ValueError(f"MLPRegressor needs numeric targets, got dtype {y.dtype}")
        y = y.astype(np.float64)
        _check_finite_y(y)
        if y.ndim > 2:
            raise ValueError(f"y should be (n_samples,) or (n_samples, n_targets), got shape {y.shape}")
        if reset:
            self._y_1d = y.ndim == 1
        y2 = y.reshape(n, -1)
        if not reset and y2.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y2.shape[1]} targets, but the model was fitted on {self.n_outputs_}")
        return y2

    def _class_weights(self, targets, w):
        return w

    def _scaled_targets(self, targets, w, reset):
        """Targets standardized with (weighted) statistics of the first fit's rows."""
        if reset:
            keep = None if w is None else w
            mean = np.average(targets, axis=0, weights=keep)
            std = np.sqrt(np.average((targets - mean) ** 2, axis=0, weights=keep))
            std[~(std > 1e-12 * np.maximum(np.abs(mean), 1.0))] = 1.0
            self.target_stats_ = {"mean": mean, "std": std}
        st = self.target_stats_
        return np.ascontiguousarray((targets - st["mean"]) / st["std"], dtype=self._dtype)

    def _unscaled(self, targets):
        st = self.target_stats_
        return targets * st["std"] + st["mean"]

    def _score_network(self, x, targets, w) -> float:
        from .metrics import regression_report
        self._inference = _float64_copy(self.model_)
        return regression_report(targets, self._unscaled(self._forward(x)), w)["r2"]

    def _meta(self) -> dict:
        return {"classes": [], "targets": list(getattr(self, "target_names_", [])) or
                [f"y{i}" for i in range(self.n_outputs_)], "y_1d": bool(self._y_1d)}

    def predict(self, X) -> np.ndarray:
        """Predicted values ``(n_samples,)``, or ``(n_samples, n_targets)`` for several targets."""
        out = self._unscaled(self._outputs(X))
        return out.ravel() if out.shape[1] == 1 else out


def load(path: str | Path):
    """A fitted :class:`MLPClassifier` or :class:`MLPRegressor` from any mlpnet checkpoint.

    Its ``predict`` takes raw inputs in the training data's form: pixels 0-255 as ``(n, 784)``
    or ``(n, 28, 28)`` for image models, unscaled columns for CSV models; image models also
    have ``predict_images``.
    """
    ckpt = checkpoint.load(path)
    meta, cfg = ckpt.meta, ckpt.meta.get("config", {})
    m, o, t = cfg.get("model", {}), cfg.get("optimizer", {}), cfg.get("train", {})
    task = meta.get("task", cfg.get("task", "classification"))
    common = dict(hidden_layer_sizes=tuple(m.get("hidden", ())), activation=m.get("activation", "relu"),
                  dropout=m.get("dropout", 0.0), solver=o.get("name", "adam"),
                  learning_rate_init=o.get("lr", 1e-3), max_iter=t.get("epochs") or 200,
                  random_state=cfg.get("seed"), threads=t.get("threads"))
    if task == "regression":
        est = MLPRegressor(loss=cfg.get("loss", "squared_error"), **common)
        est.target_stats_ = ckpt.group("target")
        est.n_outputs_ = len(est.target_stats_.get("mean", [0]))
        est._y_1d = bool(meta.get("y_1d", est.n_outputs_ == 1))
        est.target_names_ = meta.get("targets", [])
    else:
        est = MLPClassifier(loss=cfg.get("loss", "cross_entropy") if cfg.get("loss") in ("cross_entropy", "mse")
                            else "cross_entropy", **common)
        labels = meta.get("labels")
        est.classes_ = np.asarray(labels if labels is not None else ckpt.classes)
        est._multilabel = task == "multilabel"
        est.n_outputs_ = len(est.classes_) if est._multilabel else (1 if len(est.classes_) == 2 else len(est.classes_))
    schema = meta.get("input", {}).get("csv") if meta.get("input", {}).get("kind") == "tabular" else None
    est.n_features_in_ = len(raw_columns(schema)) if schema else ckpt.model.arch.sizes[0]
    est.history_ = [dict(r) for r in meta.get("history", [])]
    est.loss_curve_ = [r.get("train_loss") for r in est.history_]
    est.n_iter_ = int(meta.get("run_epochs", meta.get("epoch", 0)) or 0)
    est.best_epoch_ = int(meta.get("best", {}).get("epoch", meta.get("epoch", 0)) or 0)
    est.config_ = from_dict(cfg, f"{path} (stored config)") if cfg else None
    est.input_ = meta.get("input", dict(MNIST_INPUT))
    est.stats_ = ckpt.group("input")
    features = raw_columns(schema) if schema else est.input_.get("features")
    if features and not all(f.startswith("x") and f[1:].isdigit() for f in features):
        est.feature_names_in_ = np.asarray(features, dtype=object)
    est.model_ = ckpt.model
    est._dtype = np.dtype(np.float32)
    est.n_layers_ = len(ckpt.model.arch.sizes)
    est.out_activation_ = {"sigmoid": "logistic"}.get(ckpt.model.arch.output, ckpt.model.arch.output)
    est._inference = _float64_copy(ckpt.model)
    return est


# -- input checks ---------------------------------------------------------------------------

def _check_X(X, training: bool):
    """``X`` as a 2-D numeric array (or scipy CSR) and its kind (``image`` or ``tabular``), or a clear error."""
    if X is None:
        raise ValueError("X is None; expected an array of shape (n_samples, n_features)")
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        x = X.tocsr()
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"Found array with {x.shape[0]} sample(s) and {x.shape[1]} feature(s) "
                             f"(shape={x.shape}) while a minimum of 1 is required.")
        if x.dtype.kind not in "biuf":
            raise ValueError(f"sparse X must be numeric, got dtype {x.dtype}")
        if x.dtype.kind == "f" and not np.isfinite(x.data).all():
            raise ValueError("Input X contains NaN or infinity; impute or drop those values first")
        x.sort_indices()
        return x, "tabular"
    x = np.asarray(X)
    if x.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if x.dtype.kind in "OUS":
        try:
            x = x.astype(np.float64)  # a non-number raises "float() argument must be a string or a real number"
        except TypeError as err:
            raise TypeError(f"X must hold numbers ({err})") from None
        except ValueError as err:
            raise ValueError(f"X must hold numbers ({err}); one-hot encode word columns first, or train from a "
                             "CSV file, where mlpnet encodes them") from None
    elif x.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {x.dtype}")
    kind = "tabular"
    if x.ndim == 3:
        kind = "image"
        x = x.reshape(len(x), -1)
    if x.ndim != 2:
        raise ValueError(f"Expected 2D array, got {x.ndim}D array instead; Reshape your data with "
                         "X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"Found array with {x.shape[0]} sample(s) and {x.shape[1]} feature(s) (shape={x.shape}) "
                         "while a minimum of 1 is required.")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError("Input X contains NaN or infinity; impute or drop those values first")
    if kind == "tabular" and x.shape[1] == 784 and x.dtype.kind in "biu" and x.min() >= 0 and x.max() <= 255:
        kind = "image"  # MNIST-style rows of 784 integer pixels
    if kind == "image" and training and (x.min() < 0 or x.max() > 255):
        raise ValueError("image inputs must be pixels 0-255")
    return x, kind


def _check_y_present(y, n: int) -> np.ndarray:
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    if hasattr(y, "toarray"):
        y = y.toarray()
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError("y must be an array of targets, one per sample")
    if len(y) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)}")
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                      "to (n_samples, ), for example using ravel().", _ConversionWarning, stacklevel=5)
        y = y.ravel()
    return y


def _check_finite_y(y: np.ndarray) -> None:
    if y.dtype.kind == "f":
        if np.isnan(y).any():
            raise ValueError("Input y contains NaN.")
        if not np.isfinite(y).all():
            raise ValueError("Input y contains infinity or a value too large for dtype('float64').")


def _check_labels(y: np.ndarray) -> np.ndarray:
    """Class labels ``(n,)``: integers, words, or floats that are whole numbers."""
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead")
    if y.dtype.kind == "f":
        _check_finite_y(y)
        if not np.all(y == np.round(y)):
            raise ValueError("Unknown label type: continuous. MLPClassifier needs class labels "
                             "(integers or strings), not continuous values; use MLPRegressor for those")
    if y.dtype.kind == "O":
        y = y.astype(str) if all(isinstance(v, str) for v in y) else y
    return y


def _check_weights(sample_weight, n: int) -> np.ndarray | None:
    """Sample weights as float64 ``(n,)``: finite, non-negative, not all zero."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.ndim != 1 or len(w) != n:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n},): one weight per sample")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if (w < 0).any():
        raise ValueError("sample_weight has negative values; weights must be >= 0")
    if not (w > 0).any():
        raise ValueError("Sample weights must contain at least one non-zero number (every weight is zero).")
    return w


def _fit_stats(x, kind: str, w) -> dict[str, np.ndarray]:
    """Standardization statistics of tabular training rows (weighted by ``w``); none for images or sparse rows."""
    if kind == "image" or hasattr(x, "tocsr"):
        return {}
    xf = x.astype(np.float64, copy=False)
    mean = np.average(xf, axis=0, weights=w)
    std = np.sqrt(np.average((xf - mean) ** 2, axis=0, weights=w))
    std[~(std > 1e-12 * np.maximum(np.abs(mean), 1.0))] = 1.0  # a constant column stays 0 after centring
    return {"mean": mean, "std": std}


def _holdout(targets: np.ndarray, task: str, fraction: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation row indices; stratified by class for single-label classification."""
    n = len(targets)
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {fraction!r}")
    if task == "classification" and targets.ndim == 1:
        val = []
        for c in np.unique(targets):
            rows = rng.permutation(np.flatnonzero(targets == c))
            val.extend(rows[:int(round(fraction * len(rows)))])
        val = np.sort(np.asarray(val, dtype=np.int64))
    else:
        val = np.sort(rng.permutation(n)[:max(1, int(math.ceil(fraction * n)))])
    train = np.setdiff1d(np.arange(n), val)
    return train, val


def _input_info(x, kind: str, names) -> dict:
    if kind == "image":
        side = math.isqrt(x.shape[1])
        info = dict(MNIST_INPUT, height=side, width=side)
        if side != 28 or side * side != x.shape[1]:
            info["preprocess"] = "resize"
        return info
    features = list(names) if names is not None else [f"x{i}" for i in range(x.shape[1])]
    info = {"kind": "tabular", "features": [str(f) for f in features]}
    if hasattr(x, "tocsr"):
        info["sparse"] = True
    return info


def _seed(random_state) -> int:
    """An integer seed: the given one, one drawn from a NumPy generator, or a fresh one for None."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**32))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    return int(random_state)


def _threads(threads):
    import contextlib
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=int(threads), user_api="blas")


def _float64_copy(model: MLP) -> MLP:
    a = model.arch
    copy = MLP(Architecture(a.sizes, a.activation, a.output, 0.0, dtype="float64"))
    copy.params[...] = model.params
    return copy


def _json_labels(classes: np.ndarray) -> list:
    """Labels as JSON values that load back as the same NumPy type (ints stay ints)."""
    return [c.item() if hasattr(c, "item") else c for c in classes]
