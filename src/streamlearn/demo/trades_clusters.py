"""Online k-means over a stream of trades (the kdb Insights stream-processor example).

The reference pipeline: decode JSON trades, a timer window, sequential k-means on
bid/ask, keep cluster 0, write it out. ``streamlearn demo`` (the default scenario),
``bench/s1.py`` and the acceptance test all run this one definition.

Examples
--------
>>> import polars as pl
>>> records = pl.DataFrame({"value": generate_trades(1000)})
>>> out = operators(buffer_size=200, window_seconds=0.1).apply(records)
>>> set(out["cluster"].to_list())
{0}
"""

from __future__ import annotations

import threading
from typing import Any

import streamlearn as sl
from streamlearn.core.pipeline import Pipeline
from streamlearn.datasets.synth.trades import TRADES_SCHEMA, generate_trades
from streamlearn.demo.base import DemoSettings, ViewTable, feed_values
from streamlearn.kafka.config import KafkaConfig
from streamlearn.runtime.stats import RunStats

__all__ = ["BAD_RECORDS", "TRADES_SCHEMA", "TradesClusters", "operators", "pipeline"]

#: malformed records mixed into the demo stream, to show the dead-letter topic
BAD_RECORDS = [
    b'{"time": "2026-01-01T00:00:00", "sym": "X", "bid": 1.0',  # truncated
    b"\x00\xff garbage",
    b'{"sym": "X", "bid": "high", "ask": 1.0}',
    b"",
]


def operators(
    *,
    k: int = 3,
    buffer_size: int = 1000,
    window_seconds: float = 5.0,
    cluster: int = 0,
    seed: int = 0,
    window_rows: int = 50_000,
) -> Pipeline:
    """decode -> timer window -> sequential k-means -> SQL filter (no source, no sink).

    ``window_rows`` bounds the 5-second window under load: it is emitted early once that
    many rows are held (50k: ~45 MB less peak RSS than 100k, same speed; BENCHMARKS.md).
    """
    return (
        sl.decode.json(TRADES_SCHEMA)
        | sl.window.timer(seconds=window_seconds, max_rows=window_rows, name="window")
        | sl.ml.sequential_k_means(
            ["bid", "ask"], k=k, buffer_size=buffer_size, seed=seed, name="kmeans"
        )
        | sl.sql(f"select * from $1 where cluster = {int(cluster)}")
    )


def pipeline(source: str = "trades", sink: str = "trades-cluster0", **kwargs: Any) -> Pipeline:
    """The whole pipeline, from the ``trades`` topic to the cluster-0 topic."""
    return sl.read.from_kafka(source) | operators(**kwargs) | sl.write.to_kafka(sink)


class TradesClusters:
    """Scenario: JSON trades from three Gaussian clusters, online k-means finds them."""

    name = "trades-clusters"
    title = "online k-means over trades"

    def __init__(self, settings: DemoSettings, suffix: str = "") -> None:
        self.settings = settings
        self.topics = {"in": f"trades{suffix}", "out": f"trades-cluster0{suffix}"}
        self.produced = 0

    def create_topics(self, config: KafkaConfig) -> None:
        from streamlearn.kafka.admin import ensure_topics

        ensure_topics(config, {self.topics["in"]: 1})

    def pipeline(self) -> Pipeline:
        s = self.settings
        return pipeline(
            self.topics["in"],
            self.topics["out"],
            window_seconds=s.window,
            buffer_size=s.buffer_size,
            seed=s.seed,
        )

    def max_records(self) -> int | None:
        return self.settings.records

    def feed(self, config: KafkaConfig, stop: threading.Event, runner: Any) -> None:
        part = [0]

        def values(n: int) -> list[bytes]:
            part[0] += 1
            return generate_trades(n, seed=self.settings.seed + part[0] - 1)

        feed_values(
            config,
            values,
            self.topics["in"],
            self.settings,
            bad=BAD_RECORDS,
            stop=stop,
            on_progress=self._count,
        )

    def _count(self, n: int) -> None:
        self.produced = n

    def view(self, stats: RunStats) -> tuple[list[tuple[str, str]], list[ViewTable]]:
        rows = [
            ("produced", f"{self.produced:,}"),
            ("filtered", f"{stats.records_filtered:,}"),
            ("in windows/buffers", f"{stats.records_buffered:,}"),
            ("dead-lettered", f"{stats.dead_lettered:,}"),
        ]
        table = ViewTable("centroids (bid, ask)", ("cluster", "bid", "ask", "records"))
        model = _model(stats)
        for i, (cent, n) in enumerate(
            zip(model.get("centroids") or [], model.get("counts") or [], strict=False)
        ):
            table.rows.append((str(i), f"{cent[0]:.3f}", f"{cent[1]:.3f}", f"{n:,}"))
        return rows, [table]

    def summary(self, stats: RunStats) -> dict[str, Any]:
        model = _model(stats)
        return {
            "records_in": stats.records_in,
            "records_out": stats.records_out,
            "records_filtered": stats.records_filtered,
            "dead_lettered": stats.dead_lettered,
            "centroids": model.get("centroids"),
            "cluster_counts": model.get("counts"),
        }


def _model(stats: RunStats) -> dict[str, Any]:
    return next(iter(stats.metrics.values()), {}) if stats.metrics else {}
