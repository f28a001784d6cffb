"""Scenario S1 (kdb Insights stream processor): the reference pipeline.

Used by ``streamlearn demo``, ``bench/s1.py`` and the acceptance test, so all three run
exactly the same definition.
"""

from __future__ import annotations

import streamlearn as sl
from streamlearn.core.pipeline import Pipeline

#: the record schema of the ``trades`` topic: only these fields are decoded
TRADES_SCHEMA = {"time": "timestamp", "sym": "symbol", "bid": "float", "ask": "float"}


def s1_operators(*, k: int = 3, buffer_size: int = 1000, window_seconds: float = 5.0,
                 cluster: int = 0, seed: int = 0, window_rows: int = 50_000) -> Pipeline:
    """decode -> timer window -> sequential k-means -> SQL filter (no source, no sink).

    ``window_rows`` bounds the 5-second window under load: it is emitted early once that
    many rows are held (50k: ~45 MB less peak RSS than 100k, same speed; BENCHMARKS.md).
    """
    return (sl.decode.json(TRADES_SCHEMA)
            | sl.window.timer(seconds=window_seconds, max_rows=window_rows, name="window")
            | sl.ml.sequential_k_means(["bid", "ask"], k=k, buffer_size=buffer_size,
                                       seed=seed, name="kmeans")
            | sl.sql(f"select * from $1 where cluster = {int(cluster)}"))


def s1_pipeline(source: str = "trades", sink: str = "trades-cluster0", **kwargs: int | float
                ) -> Pipeline:
    """The whole S1 pipeline, from the ``trades`` topic to the cluster-0 topic."""
    return (sl.read.from_kafka(source) | s1_operators(**kwargs)  # type: ignore[arg-type]
            | sl.write.to_kafka(sink))
