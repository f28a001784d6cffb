"""Broadcast side inputs on the local broker: read in full before the first batch, and a
change applied between two batches of a running pipeline."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import orjson
import polars as pl
import pytest
from confluent_kafka import Producer

import streamlearn as sl
from streamlearn.core.operator import SideInput, Step
from streamlearn.runtime.broadcast import Broadcasts
from tests.kafka_helpers import consume_all, produce

pytestmark = pytest.mark.broker


@dataclass(frozen=True)
class Lookup(sl.Operator):
    """Adds ``rate`` from a table topic of ``{"sym": ..., "rate": ...}`` records."""

    table: str = ""
    kind: str = field(default="lookup", init=False, repr=False)

    def inputs(self) -> tuple[SideInput, ...]:
        decode = sl.read.from_kafka(self.table) | sl.decode.json({"sym": "string", "rate": "float"})
        return (SideInput("table", decode, mode="broadcast"),)

    def build(self) -> Step:
        return _LookupStep()


class _LookupStep(Step):
    def __init__(self) -> None:
        self.rates: dict[str, float] = {}

    def process_side(self, port, batch, ctx):
        self.rates.update(
            zip(batch.data["sym"].to_list(), batch.data["rate"].to_list(), strict=True)
        )
        return None

    def process(self, batch, ctx):
        rates = pl.DataFrame(
            {"sym": list(self.rates), "rate": list(self.rates.values())},
            schema={"sym": pl.String, "rate": pl.Float64},
        )
        return batch.with_data(batch.data.join(rates, on="sym", how="left", maintain_order="left"))


def rows(n: int, start: int = 0) -> list[bytes]:
    return [orjson.dumps({"i": i, "sym": "AB" if i % 2 else "CD"}) for i in range(start, start + n)]


def test_broadcast_table_is_loaded_first_and_updates_between_batches(kafka, topic_factory):
    src, out, table = topic_factory(partitions=2), topic_factory(), topic_factory()
    produce(
        kafka,
        table,
        [orjson.dumps({"sym": "AB", "rate": 1.0}), orjson.dumps({"sym": "CD", "rate": 2.0})],
    )
    produce(kafka, src, rows(100), keys=[str(i).encode() for i in range(100)])
    p = (
        sl.read.from_kafka(src)
        | sl.decode.json({"i": "int", "sym": "string"})
        | Lookup(table=table)
        | sl.write.to_kafka(out, partitions=1)
    )
    runner = sl.Runner(p, kafka=kafka, options=sl.RunOptions(name=f"b-{src}"))
    worker = threading.Thread(target=runner.run)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while runner.stats.records_out < 100 and time.monotonic() < deadline:
            time.sleep(0.05)
        produce(kafka, table, [orjson.dumps({"sym": "AB", "rate": 10.0})])
        time.sleep(1.0)
        produce(kafka, src, rows(100, 100), keys=[str(i).encode() for i in range(100, 200)])
        while runner.stats.records_out < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
        worker.join(30)
    got = {
        r["i"]: r for r in (orjson.loads(m.value()) for m in consume_all(kafka, out, expected=200))
    }
    assert len(got) == 200
    assert all(got[i]["rate"] == (1.0 if i % 2 else 2.0) for i in range(100))
    assert all(got[i]["rate"] == (10.0 if i % 2 else 2.0) for i in range(100, 200))
    assert runner.stats.broadcast_records == 1  # the update; the first two at catch-up


def test_history_keeps_the_last_record_per_key_like_a_compacted_topic(kafka, topic_factory):
    table = topic_factory(partitions=2)
    writes = [  # (partition, key, value)
        (0, b"a", b"a1"),
        (0, b"b", b"b1"),
        (0, None, b"keyless"),
        (0, b"a", b"a2"),
        (0, b"b", None),  # a tombstone: b is gone
        (1, b"c", b"c1"),
        (1, b"c", None),  # partition 1 ends up empty
    ]
    producer = Producer(kafka.producer_config(**{"linger.ms": 0}))
    for part, key, value in writes:
        producer.produce(table, value, key, partition=part)
    assert producer.flush(10) == 0
    reader = Broadcasts(kafka, [table], {table: 2})
    try:
        reader.catch_up()
        kept = [(t, p, [(m.key(), m.value()) for m in msgs]) for t, p, msgs in reader.history]
        assert kept == [(table, 0, [(None, b"keyless"), (b"a", b"a2")])]  # in offset order
        producer.produce(table, b"b2", b"b", partition=0)
        producer.produce(table, b"a3", b"a", partition=0)
        assert producer.flush(10) == 0
        deadline = time.monotonic() + 20
        got: list = []
        while len(got) < 2 and time.monotonic() < deadline:
            got += [(m.key(), m.value()) for _, _, msgs in reader.poll(0.2) for m in msgs]
        assert got == [(b"b", b"b2"), (b"a", b"a3")]  # a running chain gets every record
        live = [(m.key(), m.value()) for m in reader.history[0][2]]
        assert live == [(None, b"keyless"), (b"b", b"b2"), (b"a", b"a3")]
    finally:
        reader.close()
