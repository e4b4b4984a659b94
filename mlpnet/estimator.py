"""``MLPClassifier``: mlpnet from Python, in the scikit-learn estimator style, and ``load``.

``fit(X, y)`` runs the same training loop as ``mlpnet train`` on arrays in memory, with the
same input transforms: tabular columns are standardized with statistics of the training
split, 28x28 images (``(n, 28, 28)``, or ``(n, 784)`` integer pixels 0-255) are scaled by
1/255. The fitted model is the checkpoint's: ``save`` writes the ordinary ``.npz`` that
``mlpnet info/evaluate/predict`` read, and ``load`` turns any checkpoint, CLI-trained ones
included, back into a fitted ``MLPClassifier`` whose ``predict`` takes raw inputs.

scikit-learn is not needed. When it is installed the class derives from its
``BaseEstimator`` and ``ClassifierMixin``, so it is a full citizen of ``Pipeline``,
``GridSearchCV``, ``clone`` and ``check_estimator``; without it, a small stand-in base
gives the same ``get_params``/``set_params``/``score``.
"""

from __future__ import annotations

import inspect
import math
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import __version__, checkpoint
from .checkpoint import Meta
from .config import Config, from_dict, stored_config
from .data import MNIST_INPUT, Dataset, Split, images
from .data.formats import prepare
from .errors import DataError, ImageError
from .train.loop import fit as fit_loop
from .train.report import Reporter
from .train.sizing import AUTO, plan

try:  # scikit-learn is optional: derive from its base classes when it is there
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClassifierMixin as _Mixin
    from sklearn.exceptions import DataConversionWarning as _ConversionWarning
    from sklearn.exceptions import NotFittedError
except ImportError:  # pragma: no cover - exercised in the no-sklearn test, in a subprocess
    _ConversionWarning = UserWarning

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

    class _Mixin:
        _estimator_type = "classifier"

        def score(self, X, y, sample_weight=None) -> float:
            """Mean accuracy of ``predict(X)`` against ``y``."""
            right = self.predict(X) == np.asarray(y)
            return float(np.average(right, weights=sample_weight))


AUTO_MIN_BATCHES = 16
"""With ``batch_size=None``: 128, shrunk (not below 16) so an epoch has at least this many batches."""
AUTO_EPOCHS = 20
AUTO_MIN_STEPS = 2000
"""With ``epochs=None``, train at least ``AUTO_EPOCHS`` epochs and this many updates (early
stopping ends it sooner); the policy is the CLI's ``auto`` (:func:`mlpnet.train.sizing.plan`)."""


class MLPClassifier(_Mixin, _Base):
    """A multilayer perceptron classifier trained with mlpnet's loop.

    Parameters
    ----------
    hidden : tuple of int
        Hidden layer sizes; input and output sizes come from the data.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid"}
        Hidden activation.
    dropout : float
        Dropout rate on hidden layers, in [0, 1).
    loss : {"cross_entropy", "mse"}
        Training loss (softmax output with cross-entropy, sigmoid with squared error).
    optimizer : {"adam", "adamw", "sgd"}
        Optimizer.
    lr : float
        Peak learning rate.
    weight_decay : float
        L2 on weights (decoupled for ``adamw``).
    schedule : {"constant", "cosine", "step"}
        Learning-rate schedule over the planned epochs.
    epochs : int or None
        Epochs to train; None trains at least 20 epochs and at least 2,000 updates (so small
        datasets get enough), stopped early by ``early_stopping``.
    batch_size : int or None
        Samples per update; None is 128, shrunk (not below 16) so that an epoch has at least
        16 batches (``n_train // 16`` for fewer than 2,048 training samples).
    val_size : float or int
        Validation split held out of the training data (a fraction, or a count); it picks
        the best epoch and drives early stopping. 0 uses the training loss instead.
    early_stopping : int
        Patience in epochs without improvement of the validation loss (0 = off).
    random_state : int, numpy Generator/RandomState, or None
        Seeds initialisation, shuffling, dropout and the validation split.
    threads : int or None
        BLAS threads (None: all cores).
    verbose : bool
        Show the CLI's progress bars and epoch lines on stderr.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
        The labels, in the order of ``predict_proba``'s columns.
    n_features_in_ : int
    history_ : list of dict
        One row per epoch: ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``,
        ``lr``, ``seconds``.
    best_epoch_, n_iter_ : int
        The epoch whose parameters the model keeps, and the epochs trained.
    model_ : mlpnet.nn.MLP
        The network (float32 weights and biases as plain arrays).
    """

    def __init__(self, hidden=(100,), activation="relu", dropout=0.0, loss="cross_entropy", optimizer="adam",
                 lr=1e-3, weight_decay=1e-4, schedule="constant", epochs=None, batch_size=None, val_size=0.1,
                 early_stopping=20, random_state=None, threads=None, verbose=False):
        self.hidden = hidden
        self.activation = activation
        self.dropout = dropout
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.epochs = epochs
        self.batch_size = batch_size
        self.val_size = val_size
        self.early_stopping = early_stopping
        self.random_state = random_state
        self.threads = threads
        self.verbose = verbose

    # -- training -------------------------------------------------------------------------

    def fit(self, X, y) -> MLPClassifier:
        """Train on ``X (n_samples, n_features)`` (or 28x28 images ``(n, 28, 28)``) and labels ``y (n,)``."""
        names = _feature_names(X)
        x, kind = _check_X(X, training=True)
        y = _check_y(y, len(x))
        classes, codes = np.unique(y, return_inverse=True)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        info = _input_info(x, kind, names)
        x = _stored_rows(x, kind)
        n_train = len(x) - _val_count(self.val_size, len(x))
        cfg = self._config(n_train)
        ds = Dataset(train=Split(x, codes.reshape(-1).astype(np.int64)), val=None, test=None,
                     classes=[str(c) for c in classes], input=info)
        prepare(ds, cfg.data, cfg.seed)
        echo = (lambda line: print(line, file=sys.stderr)) if self.verbose else (lambda line: None)
        result = fit_loop(cfg, None, dataset=ds, reporter=Reporter(echo, progress=bool(self.verbose)))
        last = result.history[-1] if result.history else {}
        meta = Meta(classes=ds.classes, labels=_json_labels(classes), input=ds.input, config=result.config.to_dict(),
                    mlpnet_version=__version__, trained_from="arrays", n_train=n_train, n_val=len(x) - n_train,
                    epoch=result.best_epoch, run_epochs=result.epochs, metrics=last, history=result.history,
                    status="completed", best={"epoch": result.best_epoch, "monitor": result.monitor,
                                              "value": result.best_value},
                    created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self._adopt(checkpoint.Checkpoint(model=result.model, meta=meta))
        return self

    def _adopt(self, ckpt: checkpoint.Checkpoint) -> None:
        """Take the fitted state from a checkpoint (trained here, or loaded)."""
        meta = ckpt.meta
        self._checkpoint = ckpt
        self.classes_ = np.asarray(meta.labels if meta.labels is not None else meta.classes)
        self.n_features_in_ = len(meta.input.columns) if meta.input.kind == "table" else ckpt.model.arch.sizes[0]
        self.history_ = [dict(r) for r in meta.history]
        self.best_epoch_ = int(meta.best.get("epoch", meta.epoch) or 0)
        self.n_iter_ = int(meta.epochs_run or 0)
        self.config_ = stored_config(meta.config, ckpt.path) if meta.config else None
        self.input_ = meta.input
        self.model_ = ckpt.model
        names = meta.input.columns if meta.input.kind == "table" else None
        named = not meta.input.positional and (meta.input.csv is None or meta.input.csv.get("header", True))
        if names and named and not all(f.startswith("x") and f[1:].isdigit() for f in names):
            self.feature_names_in_ = np.asarray(names, dtype=object)

    def _config(self, n_train: int) -> Config:
        """The run config these parameters describe, validated like a YAML file."""
        sizes = plan(n_train, self.batch_size or AUTO, self.epochs if self.epochs is not None else AUTO,
                     min_batches=AUTO_MIN_BATCHES, min_steps=AUTO_MIN_STEPS, base_epochs=AUTO_EPOCHS, where="")
        bs, epochs = sizes.batch_size, sizes.epochs
        raw = {"name": "MLPClassifier", "seed": _seed(self.random_state),
               "data": {"dataset": "arrays", "val_size": self.val_size},
               "model": {"hidden": [int(h) for h in np.atleast_1d(self.hidden)], "activation": self.activation,
                         "dropout": self.dropout, "init": "xavier" if self.activation in ("tanh", "sigmoid") else "he"},
               "loss": self.loss,
               "optimizer": {"name": self.optimizer, "lr": self.lr, "weight_decay": self.weight_decay},
               "schedule": {"name": self.schedule},
               "train": {"epochs": epochs, "batch_size": bs, "min_steps": 0, "min_batches": 0,
                         "early_stopping": self.early_stopping,
                         "monitor": "val_loss", "threads": self.threads}}
        return from_dict(raw, "MLPClassifier")

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
                              stacklevel=3)
            elif fitted is not None and not _mappings(X):
                warnings.warn(f"X does not have valid feature names, but {cls} was fitted with feature names",
                              UserWarning, stacklevel=3)
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

    # -- inference ------------------------------------------------------------------------

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` for raw inputs in the training data's form."""
        self._check_fitted()
        X = self._align_columns(X)
        if self.input_.csv is None or self.input_.kind != "table":
            x, _ = _check_X(X, training=False)
            if x.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {x.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input")
            X = x
        try:  # a CSV model reads raw rows: words and missing values as its file had them
            return self._checkpoint.predict_proba(X)
        except DataError as err:
            raise ValueError(str(err)) from None

    def predict(self, X) -> np.ndarray:
        """Predicted labels ``(n_samples,)``, of the type ``y`` had."""
        proba = self.predict_proba(X)
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
        return self._checkpoint.predict_proba(np.stack(rows))

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # -- files ------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the ordinary checkpoint ``.npz`` (read by ``mlpnet info/evaluate/predict`` and :func:`load`)."""
        self._check_fitted()
        checkpoint.save(path, self._checkpoint.model, self._checkpoint.meta)
        return Path(path)


def load(path: str | Path) -> MLPClassifier:
    """A fitted :class:`MLPClassifier` from any mlpnet checkpoint (``best.npz``, ``last.npz``, ``save``'s).

    Its ``predict``/``predict_proba`` take raw inputs in the training data's form: pixels
    0-255 as ``(n, 784)`` or ``(n, 28, 28)`` for image models, unscaled columns for CSV
    models; image models also have ``predict_images``.
    """
    ckpt = checkpoint.load(path)
    cfg = stored_config(ckpt.meta.config, path) if ckpt.meta.config else None
    if cfg is None:  # a checkpoint made by hand: the network's own shape, default training parameters
        clf = MLPClassifier(hidden=tuple(ckpt.model.arch.sizes[1:-1]), activation=ckpt.model.arch.activation)
    else:
        clf = MLPClassifier(hidden=tuple(cfg.model.hidden), activation=cfg.model.activation,
                            dropout=cfg.model.dropout, loss=cfg.loss, optimizer=cfg.optimizer.name, lr=cfg.optimizer.lr,
                            weight_decay=cfg.optimizer.weight_decay, schedule=cfg.schedule.name,
                            epochs=cfg.train.epochs, batch_size=cfg.train.batch_size, val_size=cfg.data.val_size,
                            early_stopping=cfg.train.early_stopping, random_state=cfg.seed, threads=cfg.train.threads)
    clf._adopt(ckpt)
    return clf


# -- input checks ---------------------------------------------------------------------------

def _mappings(X) -> bool:
    """Rows given as mappings (column name -> value): named, though not a DataFrame."""
    return isinstance(X, (list, tuple)) and len(X) > 0 and isinstance(X[0], dict)


def _is_frame(X) -> bool:
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _feature_names(X) -> np.ndarray | None:
    """A DataFrame's column names (object array) when every one is a string, else None (scikit-learn's rule)."""
    columns = getattr(X, "columns", None)
    if columns is None or not _is_frame(X):
        return None
    names = np.asarray(list(columns), dtype=object)
    strings = [isinstance(c, str) for c in names]
    if names.size and all(strings):
        return names
    if any(strings):
        kinds = sorted({type(c).__name__ for c in names})
        raise TypeError(f"Feature names are only supported if all input features have string names, but your "
                        f"input has {kinds} as feature name / column name types; convert them all to strings "
                        "with X.columns = X.columns.astype(str)")
    return None


def _listed(names: list[str], most: int = 8) -> str:
    return ", ".join(names[:most]) + (f", ... ({len(names)} in all)" if len(names) > most else "")


def _check_X(X, training: bool) -> tuple[np.ndarray, str]:
    """``X`` as a 2-D numeric array and its kind (``image`` or ``table``), or a clear ValueError/TypeError."""
    if X is None:
        raise ValueError("X is None; expected an array of shape (n_samples, n_features)")
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError("sparse input is not supported by MLPClassifier; convert it with X.toarray()")
    x = np.asarray(X)
    if x.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if x.dtype.kind in "OUS":
        try:
            x = x.astype(np.float64)  # a non-number raises "float() argument must be a string or a real number"
        except ValueError as err:
            raise ValueError(f"X must hold numbers ({err}); one-hot encode word columns first, or train from a "
                             "CSV file, where mlpnet encodes them") from None
    elif x.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {x.dtype}")
    kind = "table"
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
    if kind == "table" and x.shape[1] == 784 and x.dtype.kind in "biu" and x.min() >= 0 and x.max() <= 255:
        kind = "image"  # MNIST-style rows of 784 integer pixels
    if kind == "image" and training and (x.min() < 0 or x.max() > 255):
        raise ValueError("image inputs must be pixels 0-255")
    return x, kind


def _check_y(y, n: int) -> np.ndarray:
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected; use y.ravel()",
                      _ConversionWarning, stacklevel=3)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead")
    if len(y) != n:
        raise ValueError(f"X has {n} samples but y has {len(y)}")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity")
        if not np.all(y == np.round(y)):
            raise ValueError("Unknown label type: continuous. MLPClassifier needs class labels "
                             "(integers or strings), not continuous values")
    if y.dtype.kind == "O":
        y = y.astype(str) if all(isinstance(v, str) for v in y) else y
    if len(np.unique(y)) < 2:
        raise ValueError("y has only 1 class; a classifier needs at least 2 classes")
    return y


def _input_info(x: np.ndarray, kind: str, names) -> dict:
    if kind == "image":
        side = math.isqrt(x.shape[1])
        info = dict(MNIST_INPUT, height=side, width=side)
        if side != 28 or side * side != x.shape[1]:
            info["preprocess"] = "resize"
        return info
    if names is None:  # no real names: columns are read by position (a CSV's header is not checked)
        return {"kind": "table", "features": [f"x{i}" for i in range(x.shape[1])], "positional": True}
    return {"kind": "table", "features": [str(f) for f in names]}


def _stored_rows(x: np.ndarray, kind: str) -> np.ndarray:
    """Rows as the data layer stores them: uint8 pixels, or float32 features (a copy: X is never changed)."""
    if kind == "image":
        return np.ascontiguousarray(np.rint(x) if x.dtype.kind == "f" else x, dtype=np.uint8)
    return np.array(x, dtype=np.float32, order="C")


def _val_count(val_size, n: int) -> int:
    return int(round(val_size * n)) if isinstance(val_size, float) else int(val_size or 0)


def _seed(random_state) -> int:
    """An integer seed: the given one, one drawn from a NumPy generator, or a fresh one for None."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**32))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    return int(random_state)


def _json_labels(classes: np.ndarray) -> list:
    """Labels as JSON values that load back as the same NumPy type (ints stay ints)."""
    return [c.item() if hasattr(c, "item") else c for c in classes]
