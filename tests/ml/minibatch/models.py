"""Small seeded models and data for the mini-batch training tests."""

from __future__ import annotations

import os

import numpy as np
import polars as pl

os.environ.setdefault("KERAS_BACKEND", "torch")

FEATURES = ["a", "b", "c"]


def frame(n: int = 1000, seed: int = 0) -> pl.DataFrame:
    """Three features, a binary class ``y`` and a real target ``t``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    score = x @ np.array([1.5, -2.0, 0.5])
    return pl.DataFrame(
        {
            "a": x[:, 0],
            "b": x[:, 1],
            "c": x[:, 2],
            "y": (score + rng.normal(0, 0.3, n) > 0).astype(np.int64),
            "t": score + rng.normal(0, 0.1, n),
        }
    )


def torch_net(seed: int = 0, *, dropout: float = 0.2, out: int = 2):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 16),
        torch.nn.ReLU(),
        torch.nn.Dropout(dropout),
        torch.nn.Linear(16, out),
    )


def keras_net(seed: int = 0, *, out: int = 2):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(out, activation="softmax" if out > 1 else None),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy" if out > 1 else "mse",
    )
    return model
