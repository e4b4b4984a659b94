"""The estimators' parameters: scikit-learn's names and meanings, mlpnet's own, the released
names they replace, and the config key each one becomes. The one table; docs are tested against it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """One estimator parameter and the run-config key it is saved as (None: the estimator alone has it)."""

    name: str
    key: str | None
    meaning: str
    sklearn: bool = True
    """A scikit-learn parameter (same name, same meaning); False for mlpnet's own."""


PARAMS: tuple[Param, ...] = (
    Param("hidden_layer_sizes", "model.hidden", "hidden layer widths"),
    Param("activation", "model.activation", "hidden activation: relu, tanh, logistic (= sigmoid), identity; "
          "mlpnet adds leaky_relu"),
    Param("solver", "optimizer.name", "adam, sgd, lbfgs (needs scipy); mlpnet adds adamw"),
    Param("alpha", "optimizer.weight_decay", "L2 penalty alpha/2 times the sum of squared weights, over a batch's total weight; "
          "saved as weight_decay = alpha / batch_size"),
    Param("batch_size", "train.batch_size", '"auto" = min(200, n_samples)'),
    Param("learning_rate", "schedule.name", "constant, invscaling, adaptive (sgd only, as in scikit-learn); "
          "constant is saved as is, the others as constant"),
    Param("learning_rate_init", "optimizer.lr", "step size"),
    Param("power_t", None, "exponent of invscaling"),
    Param("max_iter", "train.epochs", "epochs (stochastic solvers) or iterations (lbfgs)"),
    Param("shuffle", "train.shuffle", "reshuffle the rows every epoch"),
    Param("random_state", "seed", "seeds initialisation, shuffling, dropout and the validation split"),
    Param("tol", None, "an epoch improves when the loss falls (or the validation score rises) by tol"),
    Param("verbose", None, "print each iteration's loss"),
    Param("warm_start", None, "fit continues from the fitted weights (the CLI has --resume)"),
    Param("momentum", "optimizer.momentum", "sgd momentum"),
    Param("nesterovs_momentum", "optimizer.nesterov", "Nesterov momentum (sgd)"),
    Param("early_stopping", "train.early_stopping", "hold out validation_fraction and stop on its score; "
          "saved as the patience n_iter_no_change (0 when off)"),
    Param("validation_fraction", "data.val_size", "held-out fraction for early stopping (0 when off)"),
    Param("beta_1", "optimizer.beta1", "Adam's first-moment decay"),
    Param("beta_2", "optimizer.beta2", "Adam's second-moment decay"),
    Param("epsilon", "optimizer.eps", "Adam's epsilon"),
    Param("n_iter_no_change", "train.early_stopping", "epochs without tol improvement before stopping"),
    Param("max_fun", None, "lbfgs: most loss evaluations"),
    Param("loss", "loss", "MLPRegressor: squared_error, absolute_error, huber; MLPClassifier (mlpnet's): "
          "cross_entropy, mse"),
    Param("dropout", "model.dropout", "dropout rate on hidden layers", sklearn=False),
    Param("label_smoothing", "label_smoothing", "MLPClassifier: soften the one-hot targets", sklearn=False),
    Param("class_weight", None, 'MLPClassifier: "balanced" or {label: weight}', sklearn=False),
    Param("dtype", None, "float32 or float64; None follows X (float32 stays float32, else float64)", sklearn=False),
    Param("threads", "train.threads", "BLAS threads (None: one for a small network, else all cores)", sklearn=False),
)
"""Every estimator parameter, in the order of the constructors."""

DEPRECATED: dict[str, str] = {
    "hidden": "hidden_layer_sizes",
    "lr": "learning_rate_init",
    "weight_decay": "alpha",
    "optimizer": "solver",
    "schedule": "learning_rate",
    "epochs": "max_iter",
    "val_size": "validation_fraction",
}
"""Names mlpnet 0.2 released -> the scikit-learn names that replace them (a DeprecationWarning)."""

ACTIVATION_ALIASES = {"logistic": "sigmoid"}
"""scikit-learn activation names -> mlpnet's registry names."""


def by_name() -> dict[str, Param]:
    return {p.name: p for p in PARAMS}
