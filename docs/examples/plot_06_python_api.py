"""
Training from Python
====================

The notebook way: arrays in, a fitted estimator out. :class:`mlpnet.MLPClassifier`
takes scikit-learn's parameters and writes the same checkpoints as ``mlpnet train``; here
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
# scikit-learn's parameters with their meanings: ``early_stopping=True`` holds out
# ``validation_fraction=0.1`` (800 digits) and keeps the best validation score;
# ``max_iter=8`` keeps this example short.
clf = mlpnet.MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=8, batch_size=64, early_stopping=True,
                           random_state=0)
clf.fit(X_train, y_train)
print(clf)
print("test accuracy:", clf.score(X_test, y_test))
print("epochs:", clf.n_iter_, "best validation accuracy:", clf.best_validation_score_)

# %%
# The curves
# ----------
# ``loss_curve_`` holds the training loss of each epoch, ``validation_scores_`` the
# validation accuracy, as in scikit-learn.
epochs = range(1, len(clf.loss_curve_) + 1)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
ax1.plot(epochs, clf.loss_curve_, marker="o", label="training")
ax1.set_ylabel("loss")
ax2.plot(epochs, clf.validation_scores_, marker="o", label="validation")
ax2.set_ylabel("accuracy")
for ax in (ax1, ax2):
    ax.set_xlabel("epoch")
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
