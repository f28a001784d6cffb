"""The streaming standardisation operator (``sl.ml.standard_scaler``).

It wraps :class:`~streamlearn.ml.preprocessing.StandardScaler` (one per partition):
each batch first updates the statistics, then is scaled with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, Step
from streamlearn.ml.preprocessing import StandardScaler


@dataclass(frozen=True)
class ScalerOperator(Operator):
    """Replace each feature by (x - running mean) / running std.

    Built by :func:`streamlearn.ml.standard_scaler`.

    Examples
    --------
    >>> import polars as pl
    >>> ScalerOperator(features=("x",)).apply(pl.DataFrame({"x": [1.0, 3.0]}))["x"].to_list()
    [-1.0, 1.0]
    """

    features: Sequence[str] = ()
    kind: str = field(default="ml.standard_scaler", init=False, repr=False)
    stateful: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.features:
            raise ConfigError("standard_scaler needs the feature columns")
        object.__setattr__(self, "features", tuple(self.features))

    def build(self) -> Step:
        return _ScalerStep(list(self.features))


class _ScalerStep(Step):
    def __init__(self, features: list[str]) -> None:
        self.features = features
        self.model = StandardScaler()

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        x = batch.data.select(self.features).to_numpy().astype(np.float64)
        scaled = self.model.learn_transform_batch(x)
        cols = [pl.Series(f, scaled[:, i]) for i, f in enumerate(self.features)]
        return batch.with_data(batch.data.with_columns(cols))

    def snapshot(self) -> bytes:
        return self.model.snapshot()

    def restore(self, blob: bytes) -> None:
        self.model = StandardScaler()
        self.model.restore(blob)
