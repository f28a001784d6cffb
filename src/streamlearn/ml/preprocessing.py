"""Streaming standardisation: running mean and variance per feature (the model).

Each batch updates the statistics with Chan et al.'s parallel combination of
count/mean/M2 (vectorised per batch); NaN and infinite values are left out of the
statistics of their feature. The operator is :class:`~streamlearn.ml.scaler.ScalerOperator`
(``sl.ml.standard_scaler``): it learns each batch, then scales it with the updated
statistics, so offline and online give the same result for the same rows and batch cut.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError, NotFittedError
from streamlearn.core.state import decode_state, encode_state
from streamlearn.ml.base import Model, Transformer


class StandardScaler(Transformer, Model):
    """Standardise features with running statistics: ``(x - mean_) / std``.

    Attributes
    ----------
    n_ : ndarray of shape (d,)
        Finite values seen per feature.
    mean_ : ndarray of shape (d,)
    m2_ : ndarray of shape (d,)
        Sum of squared deviations from the mean (variance = ``m2_ / n_``).

    Examples
    --------
    >>> import numpy as np
    >>> scaler = StandardScaler().learn_batch(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> scaler.transform_batch(np.array([[2.0, 40.0]])).tolist()
    [[0.0, 2.0]]
    """

    def __init__(self) -> None:
        pass

    @property
    def fitted(self) -> bool:
        return hasattr(self, "n_")

    def learn_batch(self, X: Any) -> StandardScaler:
        """Fold the rows of ``X`` (``(n, d)``) into the running statistics."""
        x = self._check(X)
        if not self.fitted:
            d = x.shape[1]
            self.n_, self.mean_, self.m2_ = np.zeros(d), np.zeros(d), np.zeros(d)
        ok = np.isfinite(x)
        n_b = ok.sum(axis=0).astype(np.float64)
        xs = np.where(ok, x, 0.0)
        mean_b = np.divide(xs.sum(axis=0), n_b, out=np.zeros_like(n_b), where=n_b > 0)
        m2_b = (np.where(ok, x - mean_b, 0.0) ** 2).sum(axis=0)
        n = self.n_ + n_b
        delta = mean_b - self.mean_
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean_ = np.where(n > 0, self.mean_ + delta * n_b / n, 0.0)
            self.m2_ = self.m2_ + m2_b + np.where(n > 0, delta**2 * self.n_ * n_b / n, 0.0)
        self.n_ = n
        return self

    def transform_batch(self, X: Any) -> np.ndarray:
        """Scale ``X`` with the statistics as they are (a constant feature keeps std 1)."""
        if not self.fitted:
            raise NotFittedError("StandardScaler has not learned any row yet")
        x = self._check(X)
        n = self.n_
        std = np.sqrt(np.divide(self.m2_, n, out=np.ones_like(n), where=n > 0))
        std[std == 0] = 1.0
        return (x - self.mean_) / std

    def learn_transform_batch(self, X: Any) -> np.ndarray:
        """Learn the rows, then scale them (the streaming order)."""
        return self.learn_batch(X).transform_batch(X)

    def _check(self, X: Any) -> np.ndarray:
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 2:
            raise ConfigError(f"X must be a 2-D array (n rows, d features); got shape {x.shape}")
        if self.fitted and x.shape[1] != self.n_.shape[0]:
            raise ConfigError(
                f"X has {x.shape[1]} features but the scaler learned {self.n_.shape[0]}"
            )
        return x

    def snapshot(self) -> bytes:
        """The statistics as bytes (:func:`~streamlearn.core.state.encode_state`)."""
        if not self.fitted:
            return encode_state({}, {})
        return encode_state({}, {"n": self.n_, "mean": self.mean_, "m2": self.m2_})

    def restore(self, blob: bytes) -> None:
        _, a = decode_state(blob)
        if "n" in a:
            self.n_, self.mean_, self.m2_ = a["n"], a["mean"], a["m2"]
