"""mlpnet: a fast, readable multilayer perceptron trainer on NumPy."""

__version__ = "0.1.0"
