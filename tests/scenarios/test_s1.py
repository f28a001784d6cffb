"""Acceptance test of scenario S1 (kdb Insights): fit k-means on the first records of a
Kafka stream, then predict and learn online, filter with SQL, publish -- on the broker."""

from __future__ import annotations

import numpy as np
import orjson
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.datasets.synth.trades import TRADE_CENTERS, generate_trades
from streamlearn.demo.trades_clusters import operators as s1_operators
from streamlearn.demo.trades_clusters import pipeline as s1_pipeline
from tests.kafka_helpers import consume_all, produce

pytestmark = pytest.mark.broker

MALFORMED = [
    b'{"time": "2026-01-01T00:00:00", "sym": "X", "bid": 1.0',
    b"\x00\xffjunk",
    b'{"time": "2026-01-01T00:00:00", "sym": "X", "bid": "high", "ask": 1.0}',
    b"",
    b'{"time": "2026-01-01T00:00:00", "sym": "X", "bid": NaN, "ask": 1.0}',
]


def stream(n: int, seed: int) -> list[bytes]:
    values = generate_trades(n, seed=seed)
    for i, bad in zip(range(997, n, 1999), MALFORMED * 100, strict=False):
        values[i] = bad
    return values


def offline(values: list[bytes]) -> pl.DataFrame:
    frame = pl.DataFrame({"value": pl.Series(values, dtype=pl.Binary)})
    return s1_operators(window_seconds=0.2).apply(frame)


def test_s1_end_to_end_with_restart(kafka, topic_factory):
    src, out = topic_factory(prefix="trades"), topic_factory(prefix="trades-cluster0")
    first_part, second_part = stream(12_000, seed=1), stream(6_000, seed=2)
    produce(kafka, src, first_part)
    name = f"s1-{src}"
    pipeline = s1_pipeline(src, out, window_seconds=0.2)

    stats = sl.run(pipeline, kafka=kafka, name=name, max_records=12_000)
    assert stats.records_in == 12_000
    assert stats.dead_lettered == len(range(997, 12_000, 1999))
    assert stats.records_in == (stats.records_out + stats.records_filtered + stats.dead_lettered)
    model = stats.metrics["kmeans[0]"]
    found = np.array(sorted(model["centroids"]))
    expected = np.array(sorted(TRADE_CENTERS.tolist()))
    assert np.all(np.abs(found - expected) <= 0.05 * np.abs(expected))

    # a restart resumes from the stored centroids instead of fitting again
    produce(kafka, src, second_part)
    again = sl.run(pipeline, kafka=kafka, name=name, max_records=6_000)
    assert again.restored_partitions == [0]
    assert sum(again.metrics["kmeans[0]"]["counts"]) > 12_000 - stats.dead_lettered

    got = consume_all(kafka, out, expected=stats.records_out + again.records_out)
    rows = [orjson.loads(m.value()) for m in got]
    assert len(rows) == stats.records_out + again.records_out
    assert all(r["cluster"] == 0 for r in rows)
    # the stream gives what the same operators give offline over the same records
    expected_rows = offline(first_part + second_part)
    assert len(rows) == expected_rows.height
    assert [r["bid"] for r in rows] == expected_rows["bid"].to_list()
    # nothing lost, nothing repeated: every output id is a distinct input offset
    ids = [dict(m.headers())["sl-id"] for m in got]
    assert len(set(ids)) == len(ids)
