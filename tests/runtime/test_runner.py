"""The Kafka runtime against the local broker: outputs, dead letters, ids, state, restarts."""

from __future__ import annotations

import numpy as np
import orjson
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.runtime.context import dead_letter_info
from tests.kafka_helpers import consume_all, produce

pytestmark = pytest.mark.broker


def records(n: int, start: int = 0) -> list[bytes]:
    return [
        orjson.dumps({"x": float(i), "tag": "even" if i % 2 == 0 else "odd"})
        for i in range(start, start + n)
    ]


def test_decode_filter_write_with_ids_and_dead_letters(kafka, topic_factory):
    src, out = topic_factory(), topic_factory()
    values = records(500)
    values[10] = b"{broken"
    values[20] = b""
    values[30] = b'{"x": "not a number", "tag": "odd"}'
    produce(kafka, src, values)
    p = (
        sl.read.from_kafka(src)
        | sl.decode.json({"x": "float", "tag": "string"})
        | sl.filter(pl.col("tag") == "even")
        | sl.write.to_kafka(out)
    )
    stats = sl.run(p, kafka=kafka, name=f"t-{src}", max_records=500)
    assert stats.records_in == 500
    assert stats.dead_lettered == 3
    assert stats.records_out + stats.records_filtered + stats.dead_lettered == 500
    got = consume_all(kafka, out, expected=stats.records_out)
    assert len(got) == stats.records_out == 247  # 250 even records minus 10, 20 and 30
    ids = [dict(m.headers())["sl-id"].decode() for m in got]
    assert ids[0] == f"{src}/0/0" and len(set(ids)) == len(ids)
    dead = consume_all(kafka, f"t-{src}.dlq", expected=3)
    info = sorted((dead_letter_info(m.headers()) for m in dead), key=lambda d: d["offset"])
    assert [d["offset"] for d in info] == [10, 20, 30]
    assert all(d["topic"] == src and d["partition"] == 0 for d in info)
    assert all(d["operator"] == "0-decode.json" and d["error"] for d in info)
    originals = {dead_letter_info(m.headers())["offset"]: m.value() for m in dead}
    assert originals[10] == b"{broken"
    assert originals[30] == b'{"x": "not a number", "tag": "odd"}'
    assert not originals[20]  # the empty message, kept empty


def test_restart_resumes_state_and_matches_offline(kafka, topic_factory):
    src, out = topic_factory(), topic_factory()
    rng = np.random.default_rng(3)
    centers = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 0.0]])
    pts = centers[rng.integers(0, 3, 4000)] + rng.normal(0, 0.5, (4000, 2))
    values = [orjson.dumps({"a": a, "b": b}) for a, b in pts.tolist()]
    produce(kafka, src, values)
    ops = sl.decode.json({"a": "float", "b": "float"}) | sl.ml.sequential_k_means(
        ["a", "b"], k=3, buffer_size=500, update_every=50, name="km"
    )
    p = sl.read.from_kafka(src) | ops | sl.write.to_kafka(out)
    name = f"t-{src}"
    first = sl.run(p, kafka=kafka, name=name, max_records=2500)
    assert first.records_in == 2500 and first.restored_partitions == []
    second = sl.run(p, kafka=kafka, name=name, max_records=1500)
    assert second.records_in == 1500 and second.restored_partitions == [0]
    got = consume_all(kafka, out, expected=4000)
    assert len(got) == 4000
    online = [orjson.loads(m.value())["cluster"] for m in got]
    offline = ops.apply(pl.DataFrame({"value": pl.Series(values, dtype=pl.Binary)}))
    assert online == offline["cluster"].to_list()
