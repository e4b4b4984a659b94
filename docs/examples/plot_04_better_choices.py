"""
Why ReLU, softmax + cross-entropy and Adam do better
====================================================

The seed network works: about 0.9 on held-out digits after a few passes. Three changes,
each now the default, make a network learn faster and more reliably. This example shows
the reason for each on mlpnet's own code, then trains the four variants side by side.
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

# %%
# 1. Squared error with a sigmoid output learns slowly when it is most wrong
# --------------------------------------------------------------------------
# For the true class, the squared error's gradient at the output pre-activation is
# :math:`(a - 1)\,a(1 - a)`: when the network is confidently wrong (:math:`a` near 0)
# the factor :math:`a(1-a)` is near 0 too, so the biggest mistakes teach the least.
# Softmax with cross-entropy gives :math:`p - 1` (mlpnet computes this fused form,
# see :class:`mlpnet.nn.losses.CrossEntropy`): the more wrong, the larger the step.
a = np.linspace(0.001, 0.999, 200)
fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.plot(a, np.abs((a - 1) * a * (1 - a)), label="squared error + sigmoid: |(a-1) a (1-a)|")
ax.plot(a, np.abs(a - 1), label="cross-entropy + softmax: |p - 1|")
ax.set_xlabel("output for the true class")
ax.set_ylabel("size of the output gradient")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# 2. Sigmoid layers shrink the gradient on its way back
# -----------------------------------------------------
# Going back through a sigmoid layer multiplies the gradient by :math:`a(1-a) \le 1/4`.
# ReLU passes it through unchanged wherever the unit is active. Here is the mean size
# of the weight gradients per layer, on one batch of 256 digits, for networks of two and
# of six hidden layers at their usual initialisation (Xavier for sigmoid, He for ReLU).
batch, ys = x[:256], labels[:256]


def gradient_sizes(activation, hidden):
    init = "xavier" if activation == "sigmoid" else "he"
    arch = Architecture(sizes=(784, *hidden, 10), activation=activation, output="softmax")
    model = MLP(arch).init(init, np.random.default_rng(0))
    ce = losses.get("cross_entropy")
    out = model.forward(batch)
    delta = model.output_delta(len(ys))
    ce.delta(out, ys, model.grad_output, delta)
    model.backward(delta)
    return [float(np.abs(g).mean()) for g in model.grad_weights]


fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for ax, hidden in zip(axes, [(128, 64), (128, 128, 128, 128, 128, 64)]):
    for activation in ("sigmoid", "relu"):
        sizes = gradient_sizes(activation, hidden)
        ax.plot(range(1, len(sizes) + 1), sizes, marker="o", label=activation)
    ax.set_yscale("log")
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_title(f"{len(hidden)} hidden layers")
axes[0].set_ylabel("mean |dL/dW|")
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
# 3. Adam gives every parameter its own step size
# -----------------------------------------------
# SGD moves every parameter by the same multiple of its gradient, so one learning rate
# must suit both the weights of pixels that are almost always black (tiny, rare
# gradients) and the output layer (large ones). Adam divides each gradient by a running
# root-mean-square of its own past values (:class:`mlpnet.nn.optimizers.Adam`), so each
# parameter moves about ``lr`` per step however large its gradients are.
#
# Training the four variants
# --------------------------
# Same 2,000 training digits, batches of 16, three passes, each change added to the
# previous one. The learning rates are ones that work for each (SGD on squared error
# needs a large one; 3.0 here, with batches of 16, is close to the seed's 0.5 per
# single sample). Validation on 1,000 digits the networks never train on.
x_train, y_train = x[:2000], labels[:2000]
x_val, y_val = x[8000:9000], labels[8000:9000]
variants = {
    "seed: sigmoid, squared error, SGD": ("sigmoid", "sigmoid", "mse", "uniform", "sgd", 3.0),
    "+ ReLU": ("relu", "sigmoid", "mse", "he", "sgd", 1.0),
    "+ softmax and cross-entropy": ("relu", "softmax", "cross_entropy", "he", "sgd", 0.1),
    "+ Adam": ("relu", "softmax", "cross_entropy", "he", "adam", 1e-3),
}
results = {}
for name, (activation, output, loss_name, init, opt_name, lr) in variants.items():
    rng = np.random.default_rng(0)
    model = MLP(Architecture(sizes=(784, 128, 64, 10), activation=activation, output=output)).init(init, rng)
    step = TrainStep(model, losses.get(loss_name), optimizers.build(opt_name, model.n_params, model.n_weights))
    curve = []
    for epoch in range(3):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 16):
            rows = order[start:start + 16]
            step(x_train[rows], y_train[rows], lr, rng)
            if (start // 16) % 25 == 0:
                curve.append(float((model.predict_proba(x_val).argmax(axis=1) == y_val).mean()))
    results[name] = curve
    print(f"{name:35s} validation accuracy {curve[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 3.6))
for name, curve in results.items():
    ax.plot(np.arange(len(curve)) * 25, curve, label=name)
ax.set_xlabel("updates (batches of 16)")
ax.set_ylabel("validation accuracy")
ax.set_ylim(0.5, 1)
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()

# %%
# On so small a problem the seed network is not far behind at the end: what the
# changes buy is speed at the start and robustness (no learning rate to hunt for with
# Adam, no stalls on confident mistakes, deeper networks that still train). On the full
# data the gap is wider; ``mlpnet train -c configs/mnist-seed.yaml`` and ``mlpnet train``
# compare them on your machine.
