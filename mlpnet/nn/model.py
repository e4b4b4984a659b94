"""A multilayer perceptron whose parameters are plain NumPy arrays.

Shapes: ``weights[i]`` is ``(n_in, n_out)``, ``biases[i]`` is ``(n_out,)``, batches are
row-major ``x (n_samples, n_features)``. All weights, then all biases, live in one flat
buffer ``params`` (and their gradients in ``grads``), so an optimizer updates every
parameter with a handful of whole-buffer operations, and weight decay can skip the biases
by touching only ``params[:n_weights]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from . import activations, initializers


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild a network: stored verbatim in checkpoints."""

    sizes: tuple[int, ...]
    activation: str = "relu"
    output: str = "softmax"
    dropout: float = 0.0
    dtype: str = "float32"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["sizes"] = list(self.sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Architecture":
        return cls(**{**d, "sizes": tuple(int(s) for s in d["sizes"])})


@dataclass
class _Workspace:
    """Per-batch-size buffers, allocated once and reused for every batch."""

    capacity: int
    z: list[np.ndarray] = field(default_factory=list)      # activations after f, per layer
    kept: list[np.ndarray] = field(default_factory=list)   # dropout masks (scaled), hidden layers
    dropped: list[np.ndarray] = field(default_factory=list)  # a * mask, fed to the next layer
    delta: list[np.ndarray] = field(default_factory=list)  # dL/dz per layer
    ones: np.ndarray | None = None                         # (capacity,) of 1: sums rows by GEMV


class MLP:
    """Dense feed-forward network.

    Parameters
    ----------
    arch : Architecture
        Layer sizes ``(n_in, h_1, ..., n_out)``, hidden and output activations, dropout
        rate on hidden layers, and the float dtype.
    """

    def __init__(self, arch: Architecture):
        if len(arch.sizes) < 2:
            raise ValueError("an MLP needs at least an input and an output size")
        self.arch = arch
        self.dtype = np.dtype(arch.dtype)
        self._f, self._df = activations.hidden(arch.activation)
        self._f_out, self._df_out = activations.output(arch.output)
        shapes = list(zip(arch.sizes[:-1], arch.sizes[1:]))
        self.n_weights = sum(i * o for i, o in shapes)
        self.n_params = self.n_weights + sum(arch.sizes[1:])
        self.params = np.zeros(self.n_params, self.dtype)
        self.grads = np.zeros(self.n_params, self.dtype)
        self.weights, self.biases = _views(self.params, shapes, self.n_weights)
        self.grad_weights, self.grad_biases = _views(self.grads, shapes, self.n_weights)
        self._ws: _Workspace | None = None
        self._x: np.ndarray | None = None
        self._train = False

    @property
    def n_layers(self) -> int:
        return len(self.weights)

    def init(self, scheme: str, rng: np.random.Generator) -> "MLP":
        """Fill all layers with the named initializer (``he``, ``xavier``, ``uniform``)."""
        fill = initializers.get(scheme)
        for w, b in zip(self.weights, self.biases):
            fill(w, b, rng)
        return self

    # -- forward / backward -------------------------------------------------------------

    def forward(self, x: np.ndarray, *, train: bool = False, rng: np.random.Generator | None = None) -> np.ndarray:
        """Network output for a batch.

        Parameters
        ----------
        x : ndarray (n, n_in)
            Inputs, of the model's dtype and C-contiguous.
        train : bool
            Apply dropout (needs ``rng``) and keep what ``backward`` needs.

        Returns
        -------
        ndarray (n, n_out)
            A view into the workspace, valid until the next call: copy it to keep it.
        """
        n = x.shape[0]
        ws = self._workspace(n)
        drop = train and self.arch.dropout > 0.0
        keep = 1.0 - self.arch.dropout
        a = x
        last = self.n_layers - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = ws.z[i][:n]
            if i == 0 and _is_sparse(a):
                z[...] = a @ w  # a scipy CSR batch (text features): multiplied without densifying
            else:
                np.matmul(a, w, out=z)
            z += b
            if i == last:
                self._f_out(z)
                break
            self._f(z)
            if drop:
                # Inverted dropout: keep each unit with probability `keep`, scale by 1/keep.
                # floor(u + keep) is 1 exactly when u >= 1 - keep, i.e. with probability keep.
                m = ws.kept[i][:n]
                rng.random(out=m, dtype=self.dtype.type)
                m += keep
                np.floor(m, out=m)
                m *= 1.0 / keep
                a = ws.dropped[i][:n]
                np.multiply(z, m, out=a)
            else:
                a = z
        self._x, self._train = x, drop
        return z

    def backward(self, delta_out: np.ndarray) -> None:
        """Fill ``grads`` from dL/dz of the output layer, for the last ``forward`` batch.

        Parameters
        ----------
        delta_out : ndarray (n, n_out)
            Gradient of the batch loss with respect to the output pre-activation; it may
            be ``self.output_delta(n)``, which the loss writes into without allocating.
        """
        ws, x = self._ws, self._x
        n = x.shape[0]
        delta = delta_out
        for i in range(self.n_layers - 1, -1, -1):
            if i == 0:
                a_prev = x
            else:
                a_prev = (ws.dropped if self._train else ws.z)[i - 1][:n]
            # dL/dW = a_prev^T delta, dL/db = sum over the batch of delta = 1^T delta. The sum
            # as a matrix-vector product runs in BLAS, several times faster than np.sum(axis=0).
            if i == 0 and _is_sparse(a_prev):
                self.grad_weights[i][...] = a_prev.T @ delta
            else:
                np.matmul(a_prev.T, delta, out=self.grad_weights[i])
            np.matmul(ws.ones[:n], delta, out=self.grad_biases[i])
            if i == 0:
                break
            # dL/da_prev = delta W^T, then through dropout and the activation derivative.
            prev = ws.delta[i - 1][:n]
            np.matmul(delta, self.weights[i].T, out=prev)
            if self._train:
                prev *= ws.kept[i - 1][:n]
            self._df(ws.z[i - 1][:n], prev)
            delta = prev

    def output_delta(self, n: int) -> np.ndarray:
        """The workspace buffer (n, n_out) that holds dL/dz of the output layer."""
        return self._workspace(n).delta[-1][:n]

    def grad_output(self, a: np.ndarray, delta: np.ndarray) -> None:
        """Multiply ``delta`` in place by the output activation's derivative at ``a``."""
        self._df_out(a, delta)

    def predict_proba(self, x: np.ndarray, scale: float = 1.0, batch_size: int = 4096) -> np.ndarray:
        """Outputs for any number of rows ``x (n, n_in)``, in batches; a new array (n, n_out).

        The one batched inference function: ``x`` may be any numeric dtype (uint8 pixels
        included); each batch is converted to the model dtype and multiplied by ``scale``.
        """
        n = x.shape[0]
        out = np.empty((n, self.arch.sizes[-1]), self.dtype)
        buf = np.empty((min(batch_size, max(n, 1)), self.arch.sizes[0]), self.dtype)
        for start in range(0, n, batch_size):
            rows = x[start:start + batch_size]
            xb = buf[:len(rows)]
            # A same-type cast then a float multiply: faster than NumPy's mixed uint8 * float32 loop.
            np.copyto(xb, rows, casting="unsafe")
            if scale != 1.0:
                xb *= self.dtype.type(scale)
            out[start:start + len(xb)] = self.forward(xb)
        return out

    def hidden(self, x: np.ndarray) -> list[np.ndarray]:
        """Each hidden layer's activations for inputs ``x (n, n_in)``: new arrays ``(n, h_i)``, no dropout."""
        x = np.ascontiguousarray(x, self.dtype)
        self.forward(x)
        n = x.shape[0]
        return [self._ws.z[i][:n].copy() for i in range(self.n_layers - 1)]

    # -- helpers ------------------------------------------------------------------------

    def _workspace(self, n: int) -> _Workspace:
        if self._ws is None or self._ws.capacity < n:
            ws = _Workspace(capacity=n, ones=np.ones(n, self.dtype))
            for width in self.arch.sizes[1:]:
                ws.z.append(np.empty((n, width), self.dtype))
                ws.delta.append(np.empty((n, width), self.dtype))
            if self.arch.dropout > 0.0:
                for width in self.arch.sizes[1:-1]:
                    ws.kept.append(np.empty((n, width), self.dtype))
                    ws.dropped.append(np.empty((n, width), self.dtype))
            self._ws = ws
        return self._ws

    def __getstate__(self) -> dict:
        # Pickle the architecture and the flat buffer only: the weight and bias arrays are
        # views of it, which pickle would otherwise turn into independent copies.
        return {"arch": self.arch, "params": self.params}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["arch"])
        self.params[...] = state["params"]

    def __repr__(self) -> str:
        a = self.arch
        return (f"MLP(sizes={'-'.join(map(str, a.sizes))}, activation={a.activation!r}, "
                f"output={a.output!r}, dropout={a.dropout}, params={self.n_params:,}, dtype={a.dtype})")


def _is_sparse(x) -> bool:
    """A scipy sparse matrix or array (it has ``tocsr``; NumPy arrays do not)."""
    return hasattr(x, "tocsr")


def _views(flat: np.ndarray, shapes: list[tuple[int, int]], n_weights: int):
    """Split a flat buffer into weight (n_in, n_out) and bias (n_out,) views."""
    weights, biases = [], []
    w_off, b_off = 0, n_weights
    for n_in, n_out in shapes:
        weights.append(flat[w_off:w_off + n_in * n_out].reshape(n_in, n_out))
        biases.append(flat[b_off:b_off + n_out])
        w_off += n_in * n_out
        b_off += n_out
    return weights, biases
