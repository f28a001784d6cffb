"""Acceptance test of scenario S5's serving half: a model from the registry scores a live
JSON stream, is replaced mid-stream, rolled back, and expires.

A gradient-boosting house-price model (scikit-learn, converted to ONNX) is pushed to the
registry; houses are produced continuously on two partitions while the pipeline runs.
v2 is pushed as champion mid-stream, then rolled back, then promoted again with v1
deleted and v2 expired. Every input record must come out exactly once (by ``sl-id``),
either priced by the version that its ``model_version`` names (equal to scikit-learn's
prediction within float32 tolerance) or on the dead-letter topic with ``no model``; on
each partition the version changes at one offset per change.
"""

from __future__ import annotations

import threading
import time
from itertools import pairwise

import orjson
import pytest
from confluent_kafka import Producer

import streamlearn as sl
from streamlearn.runtime.context import dead_letter_info
from tests.kafka_helpers import consume_all
from tests.serve.houses import FEATURES, SCHEMA, houses, records, trained

pytestmark = pytest.mark.broker


class Feeder(threading.Thread):
    """Produces houses in small bursts up to ``gate`` (moved on by the test, always
    ahead of what the pipeline has processed, so changes land mid-stream)."""

    def __init__(self, kafka, topic, rows):
        super().__init__(daemon=True)
        self.kafka, self.topic, self.rows = kafka, topic, rows
        self.sent = 0
        self.gate = 0
        self.halt = threading.Event()

    def run(self):
        producer = Producer(self.kafka.producer_config(**{"linger.ms": 0}))
        values = records(self.rows)
        while self.sent < len(values) and not self.halt.is_set():
            if self.sent >= self.gate:
                time.sleep(0.01)
                continue
            for v in values[self.sent : self.sent + 40]:
                i = orjson.loads(v)["id"]
                producer.produce(self.topic, v, str(i).encode())
            self.sent = min(self.sent + 40, len(values))
            producer.flush(10)
            time.sleep(0.01)


def wait_for(cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_s5_push_swap_rollback_expiry(kafka, topic_factory):
    src, out = topic_factory(partitions=2), topic_factory()
    control, artifacts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    name = f"s5-{src}"
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=artifacts)
    m1, m2 = trained(50, 3), trained(120, 4, seed=1)
    train = houses(4000, seed=123)
    v1 = reg.push(
        m1,
        name="house-price",
        alias="champion",
        signature=FEATURES,
        profile=train.select(FEATURES),
        metadata={"trainer": "test"},
    )
    assert v1.version == 1 and "inline" in v1.artifact
    assert v1.profile["features"]["area"]["min"] >= 30
    stream = houses(12_000, seed=7)
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict(
            "house-price",
            features=FEATURES,
            output="price",
            topic=control,
            artifact_topic=artifacts,
        )
        | sl.write.to_kafka(out, partitions=1)
    )
    runner = sl.Runner(pipeline, kafka=kafka, options=sl.RunOptions(name=name))
    worker = threading.Thread(target=runner.run)
    feeder = Feeder(kafka, src, stream)
    worker.start()
    try:
        wait_for(lambda: bool(runner.stats.partitions))
        feeder.start()
        done = lambda n: lambda: runner.stats.records_out + runner.stats.dead_lettered >= n  # noqa: E731
        feeder.gate = 3000
        wait_for(done(2000))
        v2 = reg.push(m2, name="house-price", alias="champion", signature=FEATURES)
        assert v2.version == 2
        feeder.gate = 6000
        wait_for(done(5000))
        assert reg.rollback("house-price").version == 1
        feeder.gate = 8500
        wait_for(done(7500))
        reg.promote("house-price", 2)
        reg.delete("house-price", 1)
        feeder.gate = 10_000
        wait_for(done(9000))
        reg.expire("house-price", 2)  # now: the only version left
        feeder.gate = len(stream)
        wait_for(done(len(stream)), timeout=90)
    finally:
        feeder.halt.set()
        runner.stop()
        worker.join(30)
    n_out = runner.stats.records_out
    priced = consume_all(kafka, out, expected=n_out)
    dead = consume_all(kafka, f"{name}.dlq", expected=runner.stats.dead_lettered)
    ids = [dict(m.headers())["sl-id"] for m in priced] + [
        f"{src}/{i['partition']}/{i['offset']}".encode()
        for i in map(dead_letter_info, (m.headers() for m in dead))
    ]
    assert len(ids) == len(set(ids)) == len(stream)  # nothing missing, nothing doubled
    assert {dead_letter_info(m.headers())["error"] for m in dead} == {"no model"}
    assert len(dead) > 0

    rows = [orjson.loads(m.value()) for m in priced]
    by_id = {r["id"]: r for r in rows}
    X = stream.select(FEATURES).to_numpy()
    expected = {1: m1.predict(X), 2: m2.predict(X)}
    for r in rows:
        want = expected[r["model_version"]][r["id"]]
        assert abs(r["price"] - want) <= 1e-4 * abs(want) + 1e-3, (r, want)
    # per partition, in offset order: v1, v2, v1, v2, then dead letters; each change at
    # one offset (a batch is scored whole by one version)
    seq: dict[int, list[tuple[int, int]]] = {}
    for m in priced:
        part, off = dict(m.headers())["sl-id"].decode().rsplit("/", 2)[1:]
        seq.setdefault(int(part), []).append(
            (int(off), by_id[orjson.loads(m.value())["id"]]["model_version"])
        )
    last_priced = {}
    for part, items in seq.items():
        items.sort()
        versions = [v for _, v in items]
        runs = [versions[0]] + [b for a, b in pairwise(versions) if a != b]
        assert runs == [1, 2, 1, 2], (part, runs)
        last_priced[part] = items[-1][0]
    for m in dead:  # everything after the expiry, nothing before
        info = dead_letter_info(m.headers())
        assert info["offset"] > last_priced[info["partition"]]
    metrics = runner.stats.metrics
    assert metrics["1-ml.predict.swaps"] >= 8  # 4 changes x 2 partitions
    assert metrics.get("1-ml.predict.load_errors", 0) == 0
