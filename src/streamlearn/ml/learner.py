"""The learner protocol: learn on a batch, predict a batch, snapshot to bytes.

Columnar, unlike River's ``learn_one(dict)``: ``learn_batch(X, y)`` and
``predict_batch(X)`` take NumPy arrays. Sequential learners (passive-aggressive, SCW)
still update example by example *inside* a batch, in row order, so a batch equals the
same rows learned one at a time. Hyperparameters are keyword-only and only stored by
``__init__`` (scikit-learn style); learned state lives in attributes ending with ``_``.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from streamlearn.core.errors import NotFittedError


class Learner(ABC):
    """Base class of streamlearn's online learners."""

    task: str = "classification"

    def get_params(self) -> dict[str, Any]:
        names = [p.name for p in inspect.signature(type(self).__init__).parameters.values()
                 if p.kind is p.KEYWORD_ONLY]
        return {n: getattr(self, n) for n in names}

    def clone(self) -> Learner:
        """A fresh, unfitted learner with the same hyperparameters (one per partition/key)."""
        return type(self)(**self.get_params())

    @abstractmethod
    def learn_batch(self, X: np.ndarray, y: np.ndarray) -> Learner:
        """Learn from the rows in order; rows with NaN features or labels are skipped."""

    @abstractmethod
    def predict_batch(self, X: np.ndarray) -> np.ndarray:
        """Predict each row (class labels or values)."""

    def score_batch(self, X: np.ndarray) -> np.ndarray | None:
        """A confidence per row where the learner has one (max margin / probability)."""
        return None

    @abstractmethod
    def snapshot(self) -> bytes: ...

    @abstractmethod
    def restore(self, blob: bytes) -> None: ...

    @property
    def fitted(self) -> bool:
        return getattr(self, "n_seen_", 0) > 0

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise NotFittedError(f"{type(self).__name__} has not learned anything yet")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def clean_rows(X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    """Mask of rows that can be learned: finite features (and a label)."""
    ok = np.isfinite(X).all(axis=1)
    if y is not None and y.dtype.kind == "f":
        ok &= np.isfinite(y)
    return ok
