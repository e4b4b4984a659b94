"""Optimizers that update one flat parameter buffer in place.

A model keeps every weight and bias in one contiguous array (weights first), so each
update below is a few whole-buffer NumPy operations with preallocated state, however
many layers there are. L2 weight decay applies to the first ``n_decay`` entries (the
weights), never to biases.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CheckpointError, ConfigError

FLUSH_EVERY = 64
"""Optimizer steps between two flushes of tiny state values to zero (see ``Optimizer.flush_tiny``)."""

FLUSH_CAP = 1e-20
"""Largest flush threshold, whatever the decay: a state value this small is still far below
anything that moves a parameter, but larger ones might."""

FLUSH_BELOW = 1e-30
"""State values smaller in magnitude than this are set to zero by a flush: they cannot move a
parameter by anything float32 can represent (Adam divides m by at least eps = 1e-8)."""


class Optimizer:
    """Base class: ``step`` counts updates and calls the subclass's ``_step``.

    Parameters
    ----------
    n_params : int
        Length of the flat parameter buffer.
    n_decay : int
        Leading entries of the buffer that weight decay applies to.
    weight_decay : float
        L2 coefficient; coupled into the gradient (``sgd``, ``adam``) or decoupled
        (``adamw``).
    dtype : numpy dtype
        Dtype of the parameters and of every state buffer.
    """

    name = ""

    def __init__(self, n_params: int, n_decay: int, *, weight_decay: float = 0.0, dtype=np.float32):
        self.n_decay = n_decay
        self.weight_decay = float(weight_decay)
        self.t = 0
        self.state: dict[str, np.ndarray] = {}
        self._tmp = np.empty(n_params, dtype)
        self._mask = np.empty(n_params, bool)
        self._below: dict[str, float] = {}

    def step(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        """Apply one update to ``params`` (n_params,) from ``grads``; ``grads`` may be overwritten."""
        self.t += 1
        self._step(params, grads, lr)
        if self.t % FLUSH_EVERY == 0:
            self.flush_tiny(params)

    # Subnormal float32 numbers (magnitude below 1.18e-38) take a slow microcode path on
    # x86 CPUs, tens of times slower per operation. A moving average of a gradient that is
    # always or mostly zero (a weight of an input pixel that is always 0, as at the border
    # of every Fashion-MNIST image) is multiplied by beta1 = 0.9 every step and becomes
    # subnormal after about 800 steps: an epoch then took 1.6x as long. Every FLUSH_EVERY
    # steps (counted by ``t``, which checkpoints store, so a resumed run flushes at the same
    # steps as an uninterrupted one) each state buffer is set to zero where it is smaller
    # than a threshold chosen so that decay alone cannot take a larger value below the
    # subnormal range before the next flush: max(FLUSH_BELOW, tiny / decay**FLUSH_EVERY),
    # at most FLUSH_CAP.
    # Three passes over the buffers every 64 steps: well under 1 us per step.

    def _decay_of(self, key: str) -> float:
        """Per-step factor that state buffer ``key`` is multiplied by (for its flush threshold)."""
        return 0.0

    def flush_tiny(self, params: np.ndarray | None = None) -> None:
        """Set to zero every state value (and, with weight decay, parameter) of magnitude below its threshold."""
        bufs = list(self.state.items())
        if params is not None and self.weight_decay:
            bufs.append(("params", params))
        for key, buf in bufs:
            below = self._below.get(key)
            if below is None:
                decay = self._decay_of(key) if key != "params" else 1.0
                tiny = float(np.finfo(buf.dtype).tiny)
                kept = decay ** FLUSH_EVERY      # what decay leaves of a value between two flushes
                below = FLUSH_BELOW if kept == 0 else max(FLUSH_BELOW, tiny / kept)
                # A decay so strong that this exceeds FLUSH_CAP (beta1 of 0.5 or less) is capped.
                below = self._below[key] = min(below, FLUSH_CAP)
            tmp, mask = self._tmp[:len(buf)], self._mask[:len(buf)]
            np.abs(buf, out=tmp)
            np.less(tmp, below, out=mask)
            np.copyto(buf, 0, where=mask)

    def _step(self, params: np.ndarray, grads: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def count_step(self) -> None:
        """Count an update applied elsewhere (the model's single-sample SGD path), as ``step`` would."""
        self.t += 1

    def _add_l2(self, params: np.ndarray, grads: np.ndarray) -> None:
        """g += wd * w on the weights (coupled L2 regularisation)."""
        if self.weight_decay:
            k = self.n_decay
            tmp = self._tmp[:k]
            np.multiply(params[:k], self.weight_decay, out=tmp)
            grads[:k] += tmp

    def hyperparams(self) -> dict:
        """Hyperparameters as given to the constructor (for repr and checkpoints)."""
        return {"weight_decay": self.weight_decay}

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict]:
        """State arrays and JSON-able scalars (step count) for a checkpoint."""
        return dict(self.state), {"name": self.name, "t": self.t}

    def load_state_dict(self, arrays: dict[str, np.ndarray], scalars: dict) -> None:
        """Restore what ``state_dict`` returned; shapes must match exactly."""
        if scalars.get("name") != self.name:
            raise CheckpointError(f"optimizer state is for {scalars.get('name')!r}, not {self.name!r}")
        for key, buf in self.state.items():
            if key not in arrays:
                raise CheckpointError(f"optimizer state {key!r} is missing")
            if arrays[key].shape != buf.shape:
                raise CheckpointError(f"optimizer state {key!r} has shape {arrays[key].shape}, expected {buf.shape}")
            buf[...] = arrays[key]
        self.t = int(scalars["t"])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams().items())
        return f"{_CLASS_NAMES.get(self.name, type(self).__name__)}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    v <- mu v + g;  w <- w - lr v  (classical)  or  w <- w - lr (g + mu v)  (Nesterov).
    """

    name = "sgd"

    def __init__(self, n_params: int, n_decay: int, *, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, dtype=np.float32):
        super().__init__(n_params, n_decay, weight_decay=weight_decay, dtype=dtype)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        if self.momentum:
            self.state["velocity"] = np.zeros(n_params, dtype)

    def _decay_of(self, key):
        return self.momentum

    def _step(self, params, grads, lr):
        self._add_l2(params, grads)
        tmp = self._tmp
        if not self.momentum:
            np.multiply(grads, lr, out=tmp)
            params -= tmp
            return
        v = self.state["velocity"]
        v *= self.momentum
        v += grads
        if self.nesterov:
            np.multiply(v, self.momentum, out=tmp)
            tmp += grads
            tmp *= lr
        else:
            np.multiply(v, lr, out=tmp)
        params -= tmp

    def hyperparams(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov, **super().hyperparams()}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015); with ``decoupled=True`` it is AdamW (Loshchilov & Hutter 2019).

    Textbook form: m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
    w <- w - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).

    To save whole-buffer passes the state holds the moments scaled as
    ``m~ = m / (1-b1)`` and ``v~ = v / (1-b2)``, so their updates need no multiply by
    (1-b), and every scalar factor is folded into one step size and one epsilon:
    w <- w - s * m~ / (sqrt(v~) + eps'), with c = sqrt((1-b2) / (1-b2^t)),
    s = lr (1-b1) / ((1-b1^t) c) and eps' = eps / c. This is the same update, exactly
    in real arithmetic.
    """

    name = "adam"

    def __init__(self, n_params: int, n_decay: int, *, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled: bool = False, dtype=np.float32):
        super().__init__(n_params, n_decay, weight_decay=weight_decay, dtype=dtype)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.decoupled = bool(decoupled)
        if decoupled:
            self.name = "adamw"
        self.state["m"] = np.zeros(n_params, dtype)
        self.state["v"] = np.zeros(n_params, dtype)

    def _decay_of(self, key):
        return self.beta1 if key == "m" else self.beta2

    def _step(self, params, grads, lr):
        b1, b2, t = self.beta1, self.beta2, self.t
        if self.decoupled:
            if self.weight_decay:
                params[:self.n_decay] *= 1.0 - lr * self.weight_decay
        else:
            self._add_l2(params, grads)
        # Python floats (math, not np.sqrt): under NumPy 2 a np.float64 scalar would make
        # every float32 pass below compute in float64 and cast back, at twice the cost.
        c = math.sqrt((1.0 - b2) / (1.0 - b2 ** t))
        step = lr * (1.0 - b1) / ((1.0 - b1 ** t) * c)
        _adam_update(params, grads, self.state["m"], self.state["v"], self._tmp, b1, b2, step, self.eps / c)

    def hyperparams(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps, **super().hyperparams()}


def _adam_update(params, grads, m, v, tmp, b1: float, b2: float, step: float, eps: float) -> None:
    """One Adam step in scaled form (see ``Adam``), in place."""
    m *= b1
    m += grads
    # g is not needed after this: square it in place rather than through tmp.
    np.multiply(grads, grads, out=grads)
    v *= b2
    v += grads
    np.sqrt(v, out=tmp)
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= step
    params -= tmp


_CLASS_NAMES = {"adamw": "AdamW"}
"""Registered names whose class is shared (AdamW is Adam with decoupled weight decay)."""


def sgd(n_params, n_decay, **kw) -> SGD:
    return SGD(n_params, n_decay, **kw)


def adam(n_params, n_decay, **kw) -> Adam:
    return Adam(n_params, n_decay, **kw)


def adamw(n_params, n_decay, **kw) -> Adam:
    return Adam(n_params, n_decay, decoupled=True, **kw)


OPTIMIZERS = {"sgd": sgd, "adam": adam, "adamw": adamw}

_ARGS = {"sgd": ("momentum", "nesterov", "weight_decay"),
         "adam": ("beta1", "beta2", "eps", "weight_decay"),
         "adamw": ("beta1", "beta2", "eps", "weight_decay")}


def build(name: str, n_params: int, n_decay: int, dtype=np.float32, **options) -> Optimizer:
    """Build the optimizer registered under ``name``, taking from ``options`` only its own arguments."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer.name: unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    kwargs = {k: options[k] for k in _ARGS[name] if k in options}
    return OPTIMIZERS[name](n_params, n_decay, dtype=dtype, **kwargs)
