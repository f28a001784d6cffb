"""The sequential k-means operator (``sl.ml.sequential_k_means``).

It wraps the model :class:`~streamlearn.ml.clustering.SequentialKMeans` (one clone per
partition) and adds what a stream needs: the warm-up records are *held* as batches
(:meth:`~streamlearn.core.operator.Step.pending`: re-read after a restart, not
snapshotted) and emitted with their ``cluster`` once the model is fitted on them; rows
with a missing or non-finite feature are dead-lettered; the centroids are published to
live views.
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
from streamlearn.ml.clustering import SequentialKMeans


@dataclass(frozen=True)
class KMeansOperator(Operator):
    """Cluster a stream online with a :class:`~streamlearn.ml.clustering.SequentialKMeans`.

    Built by :func:`streamlearn.ml.sequential_k_means`, which documents the parameters.

    Examples
    --------
    >>> import numpy as np, polars as pl, streamlearn as sl
    >>> op = KMeansOperator(features=("x",), model=sl.ml.SequentialKMeans(k=2, buffer_size=4))
    >>> op.apply(pl.DataFrame({"x": [0.0, 0.1, 5.0, 5.1, 0.2]}))["cluster"].n_unique()
    2
    """

    features: Sequence[str] = ()
    model: SequentialKMeans = field(default_factory=SequentialKMeans)
    output: str = "cluster"
    output_distance: bool = False
    kind: str = field(default="ml.sequential_k_means", init=False, repr=False)
    stateful: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.features:
            raise ConfigError("sequential_k_means needs the feature columns")
        object.__setattr__(self, "features", tuple(self.features))
        self.model._validate_params(len(self.features))

    def build(self) -> Step:
        return _KMeansStep(self)


class _KMeansStep(Step):
    """One partition's model and warm-up buffer."""

    def __init__(self, spec: KMeansOperator) -> None:
        self.spec = spec
        self.features = list(spec.features)
        self.model: SequentialKMeans = spec.model.clone()
        self.buffer: list[Batch] = []
        self.buffered = 0

    @property
    def centroids_(self) -> np.ndarray | None:
        return getattr(self.model, "centroids_", None)

    def pending(self) -> list[Batch]:
        return self.buffer

    # -- processing ----------------------------------------------------------------
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        x, points = self._points(batch, ctx)
        if points is None:
            return None
        batch, model = points, self.model
        warm = None
        if model.warming_up:
            # split exactly at buffer_size, so the fit never depends on batch boundaries
            need = model.buffer_size - getattr(model, "n_seen_", 0) - self.buffered
            head = batch if batch.height <= need else batch.take(np.arange(need))
            self.buffer.append(head)
            self.buffered += head.height
            if batch.height < need:
                return None
            warm = self._warm_up()
            self._publish(ctx, batch)
            if batch.height == need:
                return warm
            batch = batch.take(np.arange(need, batch.height))
            x = x[need:]
        labels, dist = model.learn_predict_batch(x)
        out = self._output(batch, labels, dist)
        self._publish(ctx, batch)
        return out if warm is None else Batch.concat([warm, out])

    def _warm_up(self) -> Batch:
        whole = Batch.concat(self.buffer)
        self.buffer, self.buffered = [], 0
        x = _matrix(whole.data, self.features)
        labels, dist = self.model.fit_warm_up(x)
        return self._output(whole, labels, dist)

    def flush(self, ctx: Context) -> Batch | None:
        if not self.buffer:
            return None
        if self.buffered < self.model.k:
            whole = Batch.concat(self.buffer)
            self.buffer, self.buffered = [], 0
            ctx.dead_letter(whole, f"fewer than k={self.model.k} records to fit on", self.name)
            return None
        return self._warm_up()

    def _points(self, batch: Batch, ctx: Context) -> tuple[np.ndarray, Batch | None]:
        missing = [f for f in self.features if f not in batch.data.columns]
        if missing:
            ctx.dead_letter(batch, f"missing feature columns {missing}", self.name)
            return np.empty((0, 0)), None
        x = _matrix(batch.data, self.features)
        bad = ~np.isfinite(x).all(axis=1)
        if bad.any():
            ctx.dead_letter(batch.filter(bad), "non-finite or null feature value", self.name)
            batch = batch.filter(~bad)
            x = x[~bad]
        return x, (batch if batch.height else None)

    def _publish(self, ctx: Context, batch: Batch) -> None:
        """Expose the model to live views (demo, dashboard): a few numbers per batch."""
        part = batch.origin.partition if batch.origin is not None else 0
        model, c = self.model, self.centroids_
        counts = (
            (model.counts_ + model.pending_n_) if hasattr(model, "counts_") else np.zeros(model.k)
        )
        ctx.metrics[f"{self.name}[{part}]"] = {
            "centroids": c.round(6).tolist() if c is not None else None,
            "counts": counts.astype(int).tolist(),
            "features": self.features,
        }

    def _output(self, batch: Batch, labels: np.ndarray, dist: np.ndarray) -> Batch:
        cols = [pl.Series(self.spec.output, labels, dtype=pl.Int32)]
        if self.spec.output_distance:
            cols.append(pl.Series("distance", dist))
        df = batch.data
        if any(c.name in df.columns for c in cols):  # replaces a column of the input
            return batch.with_data(df.with_columns(cols))
        # new columns: hstack adds them without a query plan (with_columns collects one)
        return batch.with_data(df.hstack(cols))

    # -- state ---------------------------------------------------------------------
    def snapshot(self) -> bytes:
        # the warm-up buffer is not saved: its rows are read again after a restart
        return encode_state({}, {"model": np.frombuffer(self.model.snapshot(), np.uint8)})

    def restore(self, blob: bytes) -> None:
        _, arrays = decode_state(blob)
        self.model = self.spec.model.clone()
        self.model.restore(arrays["model"].tobytes())
        self.buffer, self.buffered = [], 0


def _matrix(df: pl.DataFrame, features: list[str]) -> np.ndarray:
    """The feature columns as an ``(n, d)`` float64 matrix, column by column: a
    ``select(...).to_numpy()`` costs a query per batch, ~10x this for small batches."""
    cols = [df.get_column(f).to_numpy() for f in features]
    x = np.column_stack(cols) if cols else np.empty((df.height, 0))
    return x if x.dtype == np.float64 else x.astype(np.float64)
