"""
Training the seed network with SGD
==================================

Stochastic gradient descent, one sample at a time, exactly as the seed network trained:
forward one digit, backpropagate its error, move every parameter a little against its
gradient, :math:`w \\leftarrow w - \\eta\\, \\partial L/\\partial w` with
:math:`\\eta = 0.5`, then take the next digit. :class:`mlpnet.nn.TrainStep` does the
four steps; with batches of one it takes mlpnet's fast single-sample path
(:class:`mlpnet.nn.sample_sgd.SampleSGD`). To run in seconds this example trains on
3,000 of the shipped digits for three passes, where ``configs/mnist-seed.yaml`` trains
on everything for ten.
"""

# %%
import gzip
from importlib.resources import files

import matplotlib.pyplot as plt
import numpy as np

from mlpnet.nn import MLP, Architecture, TrainStep, losses, optimizers

root = files("mlpnet") / "data" / "samples" / "mnist-sample"
with gzip.open(root / "t10k-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)

x = (images / 255).astype(np.float32)
x_train, y_train = x[:3000], labels[:3000]
x_val, y_val = x[8000:9000], labels[8000:9000]      # digits the network never trains on

# %%
# The network, its loss and its optimizer
# ---------------------------------------
rng = np.random.default_rng(0)
model = MLP(Architecture(sizes=(784, 128, 64, 10), activation="sigmoid", output="sigmoid"))
model.init("uniform", rng)
loss = losses.get("mse")
sgd = optimizers.build("sgd", model.n_params, model.n_weights)
step = TrainStep(model, loss, sgd, sample_sgd=True)


def accuracy(xs, ys):
    return float((model.predict_proba(xs).argmax(axis=1) == ys).mean())


# %%
# The loop
# --------
# Each epoch visits the training digits in a new random order. Every 250 digits we note
# the mean training loss of the last 250 and the accuracy on the held-out digits.
first_layer_before = model.weights[0].copy()
seen, curve, val_curve, running = 0, [], [], 0.0
print(f"before training: validation accuracy {accuracy(x_val, y_val):.3f}")
for epoch in range(3):
    for i in rng.permutation(len(x_train)):
        value, _ = step(x_train[i:i + 1], y_train[i:i + 1], 0.5, rng)
        running += value
        seen += 1
        if seen % 250 == 0:
            curve.append((seen, running / 250))
            val_curve.append((seen, accuracy(x_val, y_val)))
            running = 0.0
    print(f"epoch {epoch + 1}: validation accuracy {val_curve[-1][1]:.3f}")

# %%
# The loss falls fast, then slowly
# --------------------------------
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
ax1.plot(*zip(*curve))
ax1.set_xlabel("digits seen")
ax1.set_ylabel("training loss (mean of 250)")
ax2.plot(*zip(*val_curve), color="tab:green")
ax2.set_xlabel("digits seen")
ax2.set_ylabel("validation accuracy")
ax2.set_ylim(0, 1)
fig.tight_layout()
plt.show()

# %%
# What the first layer learned
# ----------------------------
# Each of the 128 first-layer units has one weight per pixel: shown as a 28x28 image,
# it is the pattern the unit responds to (red: ink there raises the unit, blue: lowers
# it). Before training the weights are noise; after 9,000 updates strokes and blobs
# appear on top of the noise, which per-sample SGD with a large uniform initialisation
# never fully removes.
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for k, ax in enumerate(axes.flat):
    w = (first_layer_before if k < 8 else model.weights[0])[:, k % 8].reshape(28, 28)
    lim = np.abs(w).max()
    ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.axis("off")
axes[0, 0].set_title("before", loc="left")
axes[1, 0].set_title("after", loc="left")
fig.tight_layout()
plt.show()

# %%
# The change is easier to see on its own: the difference between the weights after and
# before training, for the same eight units.
fig, axes = plt.subplots(1, 8, figsize=(10, 1.6))
for k, ax in enumerate(axes):
    d = (model.weights[0] - first_layer_before)[:, k].reshape(28, 28)
    lim = np.abs(d).max()
    ax.imshow(d, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.axis("off")
fig.tight_layout()
plt.show()
