"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's MLPs, on mlpnet's network; and ``load``.

A script written for ``sklearn.neural_network`` runs with only its import changed: the
constructors take scikit-learn's parameter names with their meanings (``mlpnet.params``
holds the table, with mlpnet's own parameters and the config key each one is saved as),
and ``fit``, ``partial_fit``, ``predict``, ``predict_proba``, ``score`` and the fitted
attributes behave as scikit-learn's. ``base`` holds what both share, ``checks`` the input checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import checkpoint
from ..config import stored_config
from ..data import images
from ..errors import DataError, ImageError
from ..nn import losses
from .base import _OLD, _ClassifierMixin, _MLP, _RegressorMixin
from .checks import (_check_finite_y, _check_labels, _check_y_present, _float64_copy, _json_labels)

__all__ = ["MLPClassifier", "MLPRegressor", "load"]

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
        return {"labels": _json_labels(self.classes_), "task": self._task}

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
        if self.input_.kind != "image":
            raise DataError("this model reads tabular rows, not images; use predict_proba")
        if isinstance(images_or_paths, (str, Path)) or hasattr(images_or_paths, "getpixel"):
            images_or_paths = [images_or_paths]
        rows = []
        for item in images_or_paths:
            name = str(item) if isinstance(item, (str, Path)) else "<image>"
            img = images.load_image(item) if isinstance(item, (str, Path)) else item
            rows.append(self.input_.image(img, name=name).reshape(-1))
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
        from ..metrics import regression_report
        self._inference = _float64_copy(self.model_)
        return regression_report(targets, self._unscaled(self._forward(x)), w)["r2"]

    def _meta(self) -> dict:
        names = list(getattr(self, "target_names_", [])) or [f"y{i}" for i in range(self.n_outputs_)]
        return {"task": "regression", "targets": names, "extra": {"y_1d": bool(self._y_1d)}}

    def predict(self, X) -> np.ndarray:
        """Predicted values ``(n_samples,)``, or ``(n_samples, n_targets)`` for several targets."""
        out = self._unscaled(self._outputs(X))
        return out.ravel() if out.shape[1] == 1 else out


def load(path: str | Path):
    """A fitted :class:`MLPClassifier` or :class:`MLPRegressor` from any mlpnet checkpoint.

    Its ``predict`` takes raw inputs in the training data's form: pixels 0-255 as ``(n, 784)``
    or ``(n, 28, 28)`` for image models, unscaled columns (words and missing values as the
    file had them) for CSV models; image models also have ``predict_images``.
    """
    ckpt = checkpoint.load(path)
    meta = ckpt.meta
    cfg = stored_config(meta.config, path) if meta.config else None
    task = ckpt.task
    arch = ckpt.model.arch
    common = dict(hidden_layer_sizes=tuple(arch.sizes[1:-1]), activation=arch.activation, dropout=arch.dropout)
    if cfg is not None:
        common.update(solver=cfg.optimizer.name, learning_rate_init=cfg.optimizer.lr, max_iter=cfg.train.epochs,
                      random_state=cfg.seed, threads=cfg.train.threads)
    if task == "regression":
        est = MLPRegressor(loss=cfg.loss if cfg is not None else "squared_error", **common)
        est.target_stats_ = ckpt.target_stats
        est.n_outputs_ = len(est.target_stats_["mean"])
        est._y_1d = bool(meta.extra.get("y_1d", est.n_outputs_ == 1))
        est.target_names_ = ckpt.target_names
    else:
        loss = cfg.loss if cfg is not None and cfg.loss in ("cross_entropy", "mse") else "cross_entropy"
        est = MLPClassifier(loss=loss, **common)
        est.classes_ = np.asarray(meta.labels if meta.labels is not None else meta.classes)
        est._multilabel = task == "multilabel"
        k = len(est.classes_)
        est.n_outputs_ = k if est._multilabel else (1 if k == 2 else k)
    spec = meta.input
    est.input_ = spec
    est.n_features_in_ = len(spec.columns) if spec.kind == "table" else arch.sizes[0]
    est.history_ = [dict(r) for r in meta.history]
    est.loss_curve_ = [r.get("train_loss") for r in est.history_]
    est.n_iter_ = int(meta.epochs_run or 0)
    est.best_epoch_ = int(meta.best.get("epoch", meta.epoch) or 0)
    est.config_ = cfg
    names = spec.columns if spec.kind == "table" else None
    named = not spec.positional and (spec.csv is None or spec.csv.get("header", True))
    if names and named and not all(f.startswith("x") and f[1:].isdigit() for f in names):
        est.feature_names_in_ = np.asarray(names, dtype=object)
    est.model_ = ckpt.model
    est._dtype = np.dtype(np.float32)
    est.n_layers_ = len(arch.sizes)
    est.out_activation_ = {"sigmoid": "logistic"}.get(arch.output, arch.output)
    est._inference = _float64_copy(ckpt.model)
    return est
