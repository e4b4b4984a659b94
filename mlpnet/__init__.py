"""mlpnet: multilayer perceptrons on NumPy, from Python and from the command line.

>>> import mlpnet
>>> clf = mlpnet.MLPClassifier().fit(X, y)          # scikit-learn's parameters; MLPRegressor too
>>> clf.predict(X_new); clf.save("model.npz")
>>> model = mlpnet.load("runs/latest/best.npz")      # any checkpoint, CLI-trained ones too
>>> result = mlpnet.train("configs/mnist.yaml", ["train.epochs=5"])   # what `mlpnet train` does

The heavy modules are imported on first use, so ``mlpnet --help`` starts fast.
"""

__version__ = "0.2.0"

from .train import train  # noqa: E402  (a light module: the training code loads on the first call)

__all__ = ["MLPClassifier", "MLPRegressor", "__version__", "load", "train"]


def __getattr__(name: str):
    if name in ("MLPClassifier", "MLPRegressor", "load"):
        from . import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'mlpnet' has no attribute {name!r}")
