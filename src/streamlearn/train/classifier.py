"""The regime classifier: a small multilayer perceptron on the k-means labels.

The scenario's network is 1-6-8-6: one input (the temperature), hidden layers of 6 and 8
units, one output per regime; scikit-learn's ``MLPClassifier(hidden_layer_sizes=(6, 8))``
is that network. The input is standardised first (a ``StandardScaler`` in the same
pipeline, so the exported model takes raw temperatures). Training runs one epoch per
``partial_fit`` call, so a progress bar can follow it, and stops when the training loss
has not improved by ``tol`` for ``patience`` epochs (scikit-learn's own rule for
``fit``) or after ``max_epochs``.

Examples
--------
>>> import numpy as np
>>> X = np.repeat([[40.0], [50.0], [60.0]], 50, axis=0); y = np.repeat([0, 1, 2], 50)
>>> model, epochs = train_mlp(X, y, max_epochs=60, seed=0)
>>> model.predict([[41.0], [59.0]]).tolist()
[0, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["HIDDEN_LAYERS", "train_mlp"]

#: hidden layers of the scenario's 1-6-8-6 network
HIDDEN_LAYERS = (6, 8)


def train_mlp(
    X: np.ndarray,
    y: np.ndarray,
    *,
    hidden: Sequence[int] = HIDDEN_LAYERS,
    max_epochs: int = 200,
    learning_rate: float = 0.01,
    batch_size: int = 256,
    tol: float = 1e-4,
    patience: int = 10,
    seed: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[Any, int]:
    """``(pipeline, epochs run)``: a fitted ``StandardScaler`` + ``MLPClassifier``
    pipeline. ``on_epoch(epoch, loss)`` is called after every epoch."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    mlp = MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        learning_rate_init=learning_rate,
        batch_size=min(batch_size, len(X)),
        random_state=seed,
    )
    classes = np.unique(y)
    best, stale, epoch = np.inf, 0, 0
    for epoch in range(1, max_epochs + 1):
        mlp.partial_fit(Z, y, classes=classes)
        loss = float(mlp.loss_)
        if on_epoch is not None:
            on_epoch(epoch, loss)
        if loss < best - tol:
            best, stale = loss, 0
        else:
            stale += 1
            if stale >= patience:
                break
    return Pipeline([("scale", scaler), ("mlp", mlp)]), epoch
