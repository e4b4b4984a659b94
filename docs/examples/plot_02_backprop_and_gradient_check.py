"""
Loss, backpropagation and the gradient check
============================================

The seed network measures its error with the squared error
:math:`L = \\tfrac12 \\lVert a - y \\rVert^2` between its ten outputs :math:`a` and the
one-hot target :math:`y`. Backpropagation computes :math:`\\partial L / \\partial w` for
every one of its 109,386 parameters in one backward sweep. This example writes the
backward pass out by hand, checks it against :meth:`mlpnet.nn.MLP.backward`, and then
checks both against the definition of a derivative, as mlpnet's own tests do.
"""

# %%
# One digit and the seed network
# ------------------------------
import gzip
from importlib.resources import files

import matplotlib.pyplot as plt
import numpy as np

from mlpnet.nn import MLP, Architecture, losses

root = files("mlpnet") / "data" / "samples" / "mnist-sample"
with gzip.open(root / "t10k-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)

# float64 for the check: finite differences need the extra digits.
arch = Architecture(sizes=(784, 128, 64, 10), activation="sigmoid", output="sigmoid", dtype="float64")
model = MLP(arch).init("uniform", np.random.default_rng(0))
x, y = images[:1] / 255.0, labels[:1]

# %%
# The loss and its gradient at the output
# ---------------------------------------
# :class:`mlpnet.nn.losses.SquaredError` pairs the value with
# :math:`\partial L/\partial z = (a - y) \odot \sigma'(z)` at the output pre-activation
# :math:`z`, where :math:`\sigma'(z) = a(1-a)`.
loss = losses.get("mse")
out = model.forward(x)
print("loss:", loss.value(out, y))
delta = model.output_delta(1)
loss.delta(out, y, model.grad_output, delta)
model.backward(delta)
grads = model.grads.copy()

# %%
# The same backward pass by hand
# ------------------------------
# Going back one layer multiplies by the weights transposed and by the activation's
# derivative: :math:`\delta_{l-1} = (\delta_l W_l^\top) \odot a_{l-1}(1 - a_{l-1})`. The
# gradient of a weight matrix is :math:`a_{l-1}^\top \delta_l`, of a bias :math:`\delta_l`.
acts = [x]
for w, b in zip(model.weights, model.biases):
    acts.append(1 / (1 + np.exp(-(acts[-1] @ w + b))))
onehot = np.eye(10)[y]
d = (acts[-1] - onehot) * acts[-1] * (1 - acts[-1])
by_hand = []
for layer in range(2, -1, -1):
    by_hand.insert(0, acts[layer].T @ d)
    d = (d @ model.weights[layer].T) * acts[layer] * (1 - acts[layer])
for layer in range(3):
    print(f"layer {layer}: largest difference to model.backward",
          np.abs(by_hand[layer] - model.grad_weights[layer]).max())

# %%
# The gradient check
# ------------------
# The derivative is the limit of :math:`(L(w + h) - L(w - h)) / 2h`. Nudge 300 randomly
# chosen parameters one at a time, each by :math:`h = 10^{-5}`, and compare. A bug in
# backpropagation (a missing transpose, a wrong derivative) shows up as points off the
# diagonal; ``tests/nn`` runs this check for every activation and loss.
rng = np.random.default_rng(1)
picked = rng.choice(model.n_params, 300, replace=False)
h = 1e-5
numeric = np.empty(len(picked))
for k, i in enumerate(picked):
    keep = model.params[i]
    model.params[i] = keep + h
    up = loss.value(model.forward(x), y)
    model.params[i] = keep - h
    down = loss.value(model.forward(x), y)
    model.params[i] = keep
    numeric[k] = (up - down) / (2 * h)
analytic = grads[picked]
scale = np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
print("largest relative error:", (np.abs(analytic - numeric) / scale).max())

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(numeric, analytic, s=8)
lim = np.abs(numeric).max() * 1.1
ax.plot([-lim, lim], [-lim, lim], color="grey", lw=0.8)
ax.set_xlabel("finite difference")
ax.set_ylabel("backpropagation")
ax.set_title("300 gradients of the seed network")
fig.tight_layout()
plt.show()
