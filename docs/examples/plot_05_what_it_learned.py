"""
What a trained network learned, and where it fails
==================================================

A network with today's choices (784-128-64-10, ReLU, softmax + cross-entropy, Adam)
trained on 8,000 of the shipped digits for four passes, then examined: its loss curves,
the confusion matrix on the 2,000 digits it never saw, the digits it misreads most
confidently, and what its hidden units respond to.
"""

# %%
import gzip
from importlib.resources import files

import matplotlib.pyplot as plt
import numpy as np

from mlpnet import metrics
from mlpnet.nn import MLP, Architecture, TrainStep, losses, optimizers

root = files("mlpnet") / "data" / "samples" / "mnist-sample"
with gzip.open(root / "t10k-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
x = (images / 255).astype(np.float32)
x_train, y_train = x[:7000], labels[:7000]
x_val, y_val = x[7000:8000], labels[7000:8000]
x_test, y_test = x[8000:], labels[8000:]       # the 2,000 digits mlpnet's own runs test on

# %%
# Training, with a loss curve per pass
# ------------------------------------
rng = np.random.default_rng(0)
model = MLP(Architecture(sizes=(784, 128, 64, 10), activation="relu", output="softmax")).init("he", rng)
ce = losses.get("cross_entropy")
step = TrainStep(model, ce, optimizers.build("adam", model.n_params, model.n_weights))
history = []
for epoch in range(4):
    order, total = rng.permutation(len(x_train)), 0.0
    for start in range(0, len(order), 64):
        rows = order[start:start + 64]
        total += step(x_train[rows], y_train[rows], 1e-3, rng)[0]
    val_loss = ce.value(model.predict_proba(x_val), y_val) / len(y_val)
    history.append((total / len(x_train), val_loss))
    print(f"epoch {epoch + 1}: training loss {history[-1][0]:.3f}, validation loss {val_loss:.3f}")

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(range(1, 5), [h[0] for h in history], marker="o", label="training")
ax.plot(range(1, 5), [h[1] for h in history], marker="o", label="validation")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# The confusion matrix
# --------------------
# Row: the true digit; column: the network's answer. The diagonal holds the digits read
# right; the cells off it show which digits are taken for which.
probs = model.predict_proba(x_test)
predicted = probs.argmax(axis=1)
cm = metrics.confusion_matrix(y_test, predicted, 10)
print(f"test accuracy {np.trace(cm) / cm.sum():.3f}")
fig, ax = plt.subplots(figsize=(4.8, 4.2))
ax.imshow(cm / cm.sum(axis=1, keepdims=True), cmap="Blues")
for i in range(10):
    for j in range(10):
        if cm[i, j]:
            ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                    color="white" if i == j else "black")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_xlabel("predicted")
ax.set_ylabel("true")
fig.tight_layout()
plt.show()

# %%
# The most confident mistakes
# ---------------------------
# Some are digits a person would misread too; others show what an MLP cannot do: it
# has no notion of a stroke, only of which pixels are lit.
wrong = np.flatnonzero(predicted != y_test)
worst = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:12]
fig, axes = plt.subplots(2, 6, figsize=(9, 3.6))
for ax, i in zip(axes.flat, worst):
    ax.imshow(images[8000 + i].reshape(28, 28), cmap="gray")
    ax.set_title(f"{y_test[i]} read as {predicted[i]}\n({probs[i, predicted[i]]:.2f})", fontsize=8)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# What the hidden units respond to
# --------------------------------
# The mean activation of each of the 64 units of the second hidden layer, over the test
# digits of each class. Each digit lights its own combination of units: the output
# layer only has to read these patterns off.
hidden = []
for digit in range(10):
    a = x_test[y_test == digit]
    for w, b in zip(model.weights[:2], model.biases[:2]):
        a = np.maximum(a @ w + b, 0)
    hidden.append(a.mean(axis=0))
fig, ax = plt.subplots(figsize=(9, 2.6))
ax.imshow(np.array(hidden), aspect="auto", cmap="viridis")
ax.set_yticks(range(10))
ax.set_ylabel("digit")
ax.set_xlabel("unit of the second hidden layer")
fig.tight_layout()
plt.show()
