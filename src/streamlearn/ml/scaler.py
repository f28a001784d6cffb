"""Streaming standardisation: running mean and variance per feature.

Each batch first updates the statistics (Chan et al.'s parallel combination of
count/mean/M2, vectorised per batch), then is scaled with them. Offline and online give
the same result for the same record order and batch cut; the statistics are state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, Step
from streamlearn.core.state import decode_state, encode_state


@dataclass(frozen=True)
class StandardScaler(Operator):
    """Replace each feature by (x - running mean) / running std.

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> out = sl.ml.standard_scaler(["x"]).apply(pl.DataFrame({"x": [1.0, 3.0]}))
    >>> out["x"].to_list()
    [-1.0, 1.0]
    """

    features: Sequence[str] = ()
    kind: str = field(default="ml.standard_scaler", init=False, repr=False)
    stateful: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.features:
            raise ConfigError("standard_scaler needs the feature columns")

    def build(self) -> Step:
        return _ScalerStep(list(self.features))


class _ScalerStep(Step):
    def __init__(self, features: list[str]) -> None:
        self.features = features
        self.n_ = np.zeros(len(features))
        self.mean_ = np.zeros(len(features))
        self.m2_ = np.zeros(len(features))

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        x = batch.data.select(self.features).to_numpy().astype(np.float64)
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
        std = np.sqrt(np.divide(self.m2_, n, out=np.ones_like(n), where=n > 0))
        std[std == 0] = 1.0
        scaled = (x - self.mean_) / std
        cols = [pl.Series(f, scaled[:, i]) for i, f in enumerate(self.features)]
        return batch.with_data(batch.data.with_columns(cols))

    def snapshot(self) -> bytes:
        return encode_state({}, {"n": self.n_, "mean": self.mean_, "m2": self.m2_})

    def restore(self, blob: bytes) -> None:
        _, a = decode_state(blob)
        self.n_, self.mean_, self.m2_ = a["n"], a["mean"], a["m2"]
