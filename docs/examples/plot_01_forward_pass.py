"""
The forward pass of the seed network
====================================

One digit goes through the seed network, 784-128-64-10 with sigmoid everywhere, built
with :class:`mlpnet.nn.MLP` and initialised as the seed article did: every weight and
bias uniform on [-0.5, 0.5). The network has not learned anything yet, so its ten
outputs are close to one another and its answer is a guess.
"""

# %%
# The digits
# ----------
# mlpnet ships the 10,000 MNIST test digits as the two IDX files of the original
# distribution: a 16-byte header, then one byte per pixel (0 is black, 255 white).
import gzip
from importlib.resources import files

import matplotlib.pyplot as plt
import numpy as np

from mlpnet.nn import MLP, Architecture

root = files("mlpnet") / "data" / "samples" / "mnist-sample"
with gzip.open(root / "t10k-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)
print(images.shape, labels[:10])

# %%
# The network
# -----------
# ``sizes`` lists the layer widths from input to output. The weights of layer ``i`` are
# ``model.weights[i]``, an ``(n_in, n_out)`` array, and its biases ``model.biases[i]``.
model = MLP(Architecture(sizes=(784, 128, 64, 10), activation="sigmoid", output="sigmoid"))
model.init("uniform", np.random.default_rng(0))
print(model)
print([w.shape for w in model.weights], [b.shape for b in model.biases])

# %%
# Forward
# -------
# Each layer computes ``a = f(a_prev @ W + b)``. The input is the 784 pixels scaled to
# [0, 1]. We run the layers by hand to keep every activation, then check that the
# result equals :meth:`mlpnet.nn.MLP.forward`.
x = images[:1].astype(np.float32) / 255


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


a, layers = x, [x]
for w, b in zip(model.weights, model.biases):
    a = sigmoid(a @ w + b)
    layers.append(a)
out = model.forward(x).copy()
print("by hand == model.forward:", np.allclose(a, out, atol=1e-6))
print("outputs:", out.round(2), "answer:", out.argmax(), "true label:", labels[0])

# %%
# What each layer holds
# ---------------------
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8), width_ratios=[1, 1.4, 1, 1])
axes[0].imshow(images[0].reshape(28, 28), cmap="gray")
axes[0].set_title(f"input (label {labels[0]})")
axes[0].axis("off")
for ax, a, name in zip(axes[1:], layers[1:], ["hidden 1 (128)", "hidden 2 (64)", "output (10)"]):
    ax.bar(np.arange(a.shape[1]), a[0], width=1.0, color="tab:blue")
    ax.set_ylim(0, 1)
    ax.set_title(name)
axes[3].set_xticks(range(10))
fig.tight_layout()
plt.show()
