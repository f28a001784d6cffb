"""Checks of hyperparameters and of the ``X`` / ``y`` batches a learner is given."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.ml._labels import as_label_array


def check_xy(X: Any, y: Any, d: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    X = np.asarray(X, dtype=np.float64)
    if X.size == 0:
        X = X.reshape(0, d if d is not None else (X.shape[-1] if X.ndim == 2 else 0))
    if X.ndim != 2:
        raise ConfigError(f"X must be a 2-D array (n rows, d features); got shape {X.shape}")
    if d is not None and X.shape[0] and X.shape[1] != d:
        raise ConfigError(f"X has {X.shape[1]} features but the learner was fitted with {d}")
    if y is None:
        return np.ascontiguousarray(X), None
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ConfigError(
            f"y must be 1-D with one target per row of X ({X.shape[0]}); got shape {y.shape}"
        )
    return np.ascontiguousarray(X), y


def clean_rows(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(X).all(axis=1)
    if y.dtype.kind == "f":
        keep &= ~np.isnan(y)
    elif y.dtype.kind == "O":
        keep &= np.array([v is not None and v == v for v in y.tolist()], dtype=bool)
    if not keep.all():
        X, y = X[keep], y[keep]
    return X, as_label_array(y)


def as_float(y: np.ndarray) -> np.ndarray:
    try:
        return y.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"regression targets must be numbers: {exc}") from exc


def check_choice(owner: object, name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{type(owner).__name__}: {name} must be one of {allowed}; got {value!r}")


def check_positive(owner: object, name: str, value: Any, *, allow_zero: bool = False) -> None:
    ok = (
        isinstance(value, (int, float, np.number))
        and not isinstance(value, bool)
        and not math.isnan(value)
        and (value >= 0 if allow_zero else value > 0)
    )
    if not ok:
        rule = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{type(owner).__name__}: {name} must be a number {rule}; got {value!r}")
