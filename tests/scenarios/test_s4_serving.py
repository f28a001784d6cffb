"""Acceptance test of scenario S4's serving half: models announced on a control topic,
bound to streams, added, replaced and deleted at run time, and restored after a crash.

Real broker, real ONNX Runtime: scikit-learn models (a gradient-boosting regressor for
the price, a classifier for the tier) are pushed to the registry (converted to ONNX) and
every output is checked against scikit-learn's own prediction by the version its
``model_version`` names. Every input record is accounted for exactly once by ``sl-id``
(or, on the dead-letter topic, by its partition and offset).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import orjson
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from sklearn.ensemble import GradientBoostingClassifier

import streamlearn as sl
from streamlearn.runtime.context import dead_letter_info
from tests.kafka_helpers import run_command
from tests.serve.houses import FEATURES, SCHEMA, houses, records, trained

pytestmark = pytest.mark.broker
HERE = Path(__file__).parent


@functools.cache
def tier_model() -> GradientBoostingClassifier:
    """Is a house above the median price? (same training set as the price models)"""
    df = houses(4000, seed=123)
    y = (df["price"] > df["price"].median()).to_numpy().astype(int)
    return GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(
        df.select(FEATURES).to_numpy(), y
    )


def wait_for(cond, timeout=60.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def start(kafka, **pipelines):
    """Run each pipeline (by name) in a thread; returns once every one is assigned."""
    runners = [
        sl.Runner(p, kafka=kafka, options=sl.RunOptions(name=name)) for name, p in pipelines.items()
    ]
    workers = [threading.Thread(target=r.run, daemon=True) for r in runners]
    for w in workers:
        w.start()
    for r in runners:
        wait_for(lambda r=r: bool(r.stats.partitions), what="the group join")
    return runners, workers


def changed(runners, write, n_records):
    """Write to the registry, then wait until every runner has read the ``n_records``
    control records: a batch read after that is scored under the change."""
    marks = [r.stats.broadcast_records for r in runners]
    result = write()
    for r, mark in zip(runners, marks, strict=True):
        wait_for(lambda r=r, m=mark: r.stats.broadcast_records >= m + n_records, what="the change")
    return result


def handled(runner):
    return runner.stats.records_out + runner.stats.dead_lettered


class Feed:
    """One producer for the whole test (a new client per write costs ~0.5 s)."""

    def __init__(self, kafka):
        self.producer = Producer(kafka.producer_config(**{"linger.ms": 0}))

    def __call__(self, topic, values, ids):
        for i in ids:
            self.producer.produce(topic, values[i], str(i).encode())
        assert self.producer.flush(30) == 0


def read_all(kafka, topic, expected=None, quiet=1.0, timeout=60.0):
    """Every record of a one-partition topic: assigned, not subscribed (no group join),
    until ``expected`` records (then ``quiet`` s more, to catch repeats) or ``quiet`` s
    with nothing new. Not by watermarks: Tansu's are wrong."""
    consumer = Consumer(kafka.consumer_config(f"reader-{uuid.uuid4().hex[:8]}"))
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out: list = []
    deadline = last = time.monotonic()
    deadline += timeout
    try:
        while time.monotonic() < deadline:
            enough = bool(out) if expected is None else len(out) >= expected
            if enough and time.monotonic() - last > quiet:
                break
            got = [m for m in consumer.consume(10_000, 0.1) if m.error() is None]
            if got:
                out += got
                last = time.monotonic()
    finally:
        consumer.close()
    return out


def wait_outputs(kafka, topic, n, timeout=60.0):
    """How many records a one-partition topic holds, once it holds ``n`` (or at the
    timeout)."""
    consumer = Consumer(kafka.consumer_config(f"reader-{uuid.uuid4().hex[:8]}"))
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    seen, deadline = 0, time.monotonic() + timeout
    try:
        while seen < n and time.monotonic() < deadline:
            seen += sum(1 for m in consumer.consume(10_000, 0.1) if m.error() is None)
    finally:
        consumer.close()
    return seen


def expected_prices(models, X):
    """Each version's scikit-learn predictions for every house (by id)."""
    return {v: m.predict(X) for v, m in models.items()}


def check_price(row, prices):
    want = prices[row["model_version"]][row["id"]]
    assert abs(row["price"] - want) <= 1e-4 * abs(want) + 1e-3, (row, want)


def check_tier(row, proba):
    want = proba[row["id"]]
    got = [row["tier_proba_0"], row["tier_proba_1"]]
    assert np.allclose(got, want, atol=1e-4), (row, want)
    if abs(want[1] - 0.5) > 1e-4:  # float32 cannot flip a clear decision
        assert row["tier"] == int(want[1] > 0.5), (row, want)
    assert row["tier_version"] == 1


def by_sl_id(msgs):
    """Output rows by (partition, offset) of their input; asserts none is repeated."""
    rows = {}
    for m in msgs:
        _, part, off = dict(m.headers())["sl-id"].decode().rsplit("/", 2)
        rows[int(part), int(off)] = orjson.loads(m.value())
    assert len(rows) == len(msgs), "an input was scored twice"
    return rows


def test_two_models_on_one_stream_and_one_model_on_two_streams(kafka, topic_factory):
    src_a, src_b = topic_factory(partitions=2), topic_factory()
    out_a, out_b = topic_factory(), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    prices = {1: trained(50, 3), 2: trained(120, 4, seed=1)}
    reg.push(prices[1], name="house-price", alias="champion", signature=FEATURES)
    reg.push(tier_model(), name="house-tier", alias="champion", signature=FEATURES)
    registry = {"topic": control, "artifact_topic": arts}
    price = sl.ml.predict("house-price", features=FEATURES, output="price", **registry)
    two = (  # two models on one stream: two steps reading one registry
        sl.read.from_kafka(src_a)
        | sl.decode.json(SCHEMA)
        | price
        | sl.ml.predict(
            "house-tier",
            features=FEATURES,
            output="tier",
            version_column="tier_version",
            probabilities=True,
            **registry,
        )
        | sl.write.to_kafka(out_a, partitions=1)
    )
    one = sl.read.from_kafka(src_b) | sl.decode.json(SCHEMA) | price | sl.write.to_kafka(out_b)
    stream = houses(4000, seed=7)
    values, X = records(stream), stream.select(FEATURES).to_numpy()
    ids = {  # A takes the even ids, B the odd; the promote comes after id 1999
        (t, phase): [i for i in range(phase * 2000, phase * 2000 + 2000) if i % 2 == k]
        for k, t in enumerate((src_a, src_b))
        for phase in (0, 1)
    }
    runners, workers = start(kafka, **{f"two-{src_a}": two, f"one-{src_a}": one})
    feed = Feed(kafka)
    try:
        for t in (src_a, src_b):
            feed(t, values, ids[t, 0])
        for r in runners:
            wait_for(lambda r=r: handled(r) >= 1000, what="the first half")
        v2 = changed(
            runners,
            lambda: reg.push(prices[2], name="house-price", alias="champion", signature=FEATURES),
            2,  # the version record and the alias record
        )
        assert v2.version == 2
        for t in (src_a, src_b):
            feed(t, values, ids[t, 1])
        for r in runners:
            wait_for(lambda r=r: handled(r) >= 2000, what="the second half")
    finally:
        for r in runners:
            r.stop()
        for w in workers:
            w.join(30)
    for r in runners:
        assert r.stats.dead_lettered == 0
    rows_a = by_sl_id(read_all(kafka, out_a, 2000)).values()
    rows_b = by_sl_id(read_all(kafka, out_b, 2000)).values()
    want, proba = expected_prices(prices, X), tier_model().predict_proba(X)
    for t, rows in ((src_a, rows_a), (src_b, rows_b)):
        assert sorted(r["id"] for r in rows) == sorted(ids[t, 0] + ids[t, 1])
        for row in rows:
            assert row["model_version"] == (1 if row["id"] < 2000 else 2), row  # same for both
            check_price(row, want)
    for row in rows_a:
        check_tier(row, proba)
    metrics_a, metrics_b = (r.stats.metrics for r in runners)
    assert metrics_a["1-ml.predict.swaps"] == 4  # per partition: nothing -> v1 -> v2
    assert metrics_a["2-ml.predict.swaps"] == 2  # the tier model, loaded once per partition
    assert metrics_b["1-ml.predict.swaps"] == 2
    assert not any(k.endswith("load_errors") for k in (*metrics_a, *metrics_b))


def test_a_model_added_and_versions_deleted_while_running(kafka, topic_factory):
    src, out = topic_factory(), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    models = {1: trained(50, 3), 2: trained(120, 4, seed=1)}
    name = f"late-{src}"
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict(
            "house-value", features=FEATURES, output="price", topic=control, artifact_topic=arts
        )
        | sl.write.to_kafka(out)
    )
    stream = houses(1000, seed=9)
    values, X = records(stream), stream.select(FEATURES).to_numpy()
    phase = [list(range(k * 200, k * 200 + 200)) for k in range(5)]

    def push(v):
        return lambda: reg.push(models[v], name="house-value", alias="champion", signature=FEATURES)

    (runner,), (worker,) = start(kafka, **{name: pipeline})
    feed = Feed(kafka)
    try:
        for k in range(5):
            if k == 1:  # the model the pipeline waits for is added
                changed([runner], push(1), 2)
            elif k == 2:
                changed([runner], push(2), 2)
            elif k == 3:  # the champion's version deleted: the alias falls back (table.resolve)
                changed([runner], lambda: reg.delete("house-value", 2), 1)
                assert reg.resolve("house-value").version == 1
            elif k == 4:  # the last version deleted: nothing left to score with
                changed([runner], lambda: reg.delete("house-value", 1), 1)
                assert reg.resolve("house-value") is None
            feed(src, values, phase[k])
            wait_for(lambda n=200 * k + 200: handled(runner) >= n, what=f"phase {k}")
    finally:
        runner.stop()
        worker.join(30)
    priced = read_all(kafka, out, runner.stats.records_out)
    dead = read_all(kafka, f"{name}.dlq", runner.stats.dead_lettered)
    rows = by_sl_id(priced)
    lost = {orjson.loads(m.value())["id"]: dead_letter_info(m.headers()) for m in dead}
    assert len(lost) == len(dead)
    assert sorted([r["id"] for r in rows.values()] + list(lost)) == list(range(1000))
    assert sorted(lost) == phase[0] + phase[4]  # before the push and after the last delete
    assert {info["error"] for info in lost.values()} == {"no model"}
    assert {info["offset"] for info in lost.values()} == set(phase[0] + phase[4])
    version = {
        **dict.fromkeys(phase[1], 1),
        **dict.fromkeys(phase[2], 2),
        **dict.fromkeys(phase[3], 1),
    }
    want = expected_prices(models, X)
    for row in rows.values():
        assert row["model_version"] == version[row["id"]], row
        check_price(row, want)
    assert runner.stats.metrics["1-ml.predict.swaps"] == 3  # -> v1 -> v2 -> v1
    assert "1-ml.predict.load_errors" not in runner.stats.metrics


def committed(kafka, group, topic, partitions):
    consumer = Consumer(kafka.consumer_config(group))
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: max(tp.offset, 0) for tp in tps}
    finally:
        consumer.close()


def test_restart_restores_the_registry_and_rescores_nothing_committed(kafka, topic_factory):
    src, out1, out2 = topic_factory(partitions=2), topic_factory(), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    prices = {1: trained(50, 3), 2: trained(120, 4, seed=1)}
    reg.push(prices[1], name="house-price", alias="champion", signature=FEATURES)
    reg.push(prices[2], name="house-price", alias="champion", signature=FEATURES)
    reg.push(tier_model(), name="house-tier", alias="champion", signature=FEATURES)
    reg.delete("house-price", 1)  # the table to restore: champion v2, v1 gone, the tier v1
    n = 8000
    stream = houses(n, seed=5)
    values, X = records(stream), stream.select(FEATURES).to_numpy()
    name = f"s4-restart-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "S4S_SRC": src, "S4S_CONTROL": control, "S4S_ARTS": arts}
    cmd = run_command(f"{HERE / 's4_serving_pipeline.py'}:pipeline", kafka, name)

    feed = Feed(kafka)
    feed(src, values, range(1000))
    victim = subprocess.Popen(
        cmd, env={**env, "S4S_OUT": out1}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert wait_outputs(kafka, out1, 500) >= 500
        feeder = threading.Thread(  # the rest over ~4 s: the kill lands mid-stream
            target=lambda: [
                (feed(src, values, range(i, i + 200)), time.sleep(0.1)) for i in range(1000, n, 200)
            ]
        )
        feeder.start()
        assert wait_outputs(kafka, out1, 3000) >= 3000
        wait_for(lambda: min(committed(kafka, name, src, 2).values()) > 0, what="a commit")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    feeder.join()
    done_at = committed(kafka, name, src, 2)  # what the killed run had committed
    first = by_sl_id(read_all(kafka, out1))
    assert len(first) < n, "the kill came too late"

    done = subprocess.run(
        [*cmd, "--idle-timeout", "4", "--json"],
        env={**env, "S4S_OUT": out2},
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    stats = json.loads(done.stdout.decode().strip().splitlines()[-1])
    second = by_sl_id(read_all(kafka, out2, n - sum(done_at.values())))

    scored = set(first) | set(second)
    ids = {k: r["id"] for k, r in [*first.items(), *second.items()]}
    assert sorted(ids.values()) == list(range(n))  # nothing lost; one input, one id
    committed_part = {k for k in scored if k[1] < done_at[k[0]]}
    for p in (0, 1):  # the committed input: every offset before the commit, scored by run 1
        assert {o for q, o in committed_part if q == p} == set(range(done_at[p]))
    # the restart resumed at the committed offsets: it scored none of the committed
    # input and all of the rest, each once
    assert set(second) == scored - committed_part
    assert stats["records_in"] == len(second)
    assert len(committed_part) + len(second) == n  # each input exactly once across both
    # only input after the last commit was scored again (at-least-once), and identically
    for k in set(first) - committed_part:
        assert first[k] == second[k]
    # the same versions before and after: champion v2 (v1 deleted) and the tier's v1
    want, proba = expected_prices(prices, X), tier_model().predict_proba(X)
    for row in [*first.values(), *second.values()]:
        assert row["model_version"] == 2, row
        check_price(row, want)
        check_tier(row, proba)
    metrics = stats["metrics"]
    assert metrics["1-ml.predict.version"] == 2 and metrics["2-ml.predict.version"] == 1
    assert metrics["1-ml.predict.swaps"] == metrics["2-ml.predict.swaps"] == 2  # one per partition
