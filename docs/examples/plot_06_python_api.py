"""
Training from Python
====================

The notebook way: arrays in, a fitted estimator out. :class:`mlpnet.MLPClassifier`
trains with the same loop, input transforms and checkpoints as ``mlpnet train``; here
on the shipped digits as a NumPy array of raw pixels (0-255), which it scales by 1/255
exactly as the command line does. With scikit-learn installed the same object works in
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``.
"""

# %%
import gzip
import tempfile
from importlib.resources import files
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import mlpnet

root = files("mlpnet") / "data" / "samples" / "mnist-sample"
with gzip.open(root / "t10k-images-idx3-ubyte.gz") as f:
    X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
with gzip.open(root / "t10k-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8)
X_train, y_train, X_test, y_test = X[:8000], y[:8000], X[8000:], y[8000:]

# %%
# Fit
# ---
# 10% of the training digits (800) are held out to choose the best epoch; ``max_iter=5``
# (epochs) keeps this example short.
clf = mlpnet.MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=5, batch_size=64, random_state=0)
clf.fit(X_train, y_train)
print(clf)
print("test accuracy:", clf.score(X_test, y_test))
print("best epoch:", clf.best_epoch_, "of", len(clf.history_))

# %%
# The history
# -----------
# ``history_`` holds one dict per epoch (``epoch``, ``train_loss``, ``val_loss``): a list
# that pandas turns into a table with ``pd.DataFrame(clf.history_)``.
epochs = [h["epoch"] for h in clf.history_]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(epochs, [h["train_loss"] for h in clf.history_], marker="o", label="training")
ax.plot(epochs, [h["val_loss"] for h in clf.history_], marker="o", label="validation")
ax.set_xlabel("epoch")
ax.set_ylabel("loss")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Predict
# -------
# ``predict_proba`` gives one probability per class; ``classes_`` names the columns.
proba = clf.predict_proba(X_test[:6])
fig, axes = plt.subplots(1, 6, figsize=(9, 1.9))
for ax, image, p in zip(axes, X_test[:6], proba):
    ax.imshow(image, cmap="gray")
    ax.set_title(f"{clf.classes_[p.argmax()]} ({p.max():.2f})", fontsize=9)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %%
# Save and load
# -------------
# ``save`` writes the ordinary checkpoint, which ``mlpnet info``, ``mlpnet predict`` and
# ``mlpnet serve`` read; ``mlpnet.load`` reads any checkpoint, CLI-trained ones too.
path = clf.save(Path(tempfile.mkdtemp()) / "digits.npz")
same = mlpnet.load(path)
print("same answers after loading:", bool((same.predict(X_test) == clf.predict(X_test)).all()))
