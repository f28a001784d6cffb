"""``streamlearn compare TOPIC_A TOPIC_B``: two output topics joined by ``sl-id`` (real
broker): known disagreements, ids on one side only, repeats; the S5 form with two copies
of a pipeline in their own consumer groups; one-line errors."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from confluent_kafka import Producer

import streamlearn as sl
from tests.cli._run import cli, lines
from tests.kafka_helpers import produce
from tests.serve.houses import FEATURES, SCHEMA, houses, records, trained

pytestmark = pytest.mark.broker


def put(kafka, topic, rows):
    """(sl-id or None, value bytes) records, in order."""
    producer = Producer(kafka.producer_config())
    for rid, value in rows:
        heads = [("sl-id", rid)] if rid is not None else None
        producer.produce(topic, value, headers=heads)
    assert producer.flush(30) == 0


def compare_json(kafka, *args):
    res = cli("compare", *args, "-b", kafka.bootstrap_servers, "--json")
    assert res.returncode == 0, res.stderr
    return json.loads(lines(res.stdout)[-1])


def test_compare_counts_disagreements_unmatched_and_repeats(kafka, topic_factory):
    a, b = topic_factory(partitions=2), topic_factory()
    rid = lambda i: f"src/0/{i}".encode()  # noqa: E731
    label_a = {i: i % 3 for i in range(200)}
    label_b = {i: (i % 3 if i % 7 else (i + 1) % 3) for i in range(5, 205)}  # i % 7 == 0 differ
    delta = {i: (0.5 if i % 4 == 0 else 0.0) for i in range(5, 205)}
    put(
        kafka,
        a,
        [(rid(i), orjson.dumps({"y": label_a[i], "p": float(i)})) for i in range(200)]
        + [(None, b'{"y": 1, "p": 1.0}')],  # no sl-id: left out, counted
    )
    put(
        kafka,
        b,
        [(rid(i), orjson.dumps({"y": label_b[i], "p": i + delta[i]})) for i in range(5, 205)]
        + [(rid(10), b'{"y": 2, "p": 99.0}'), (rid(300), b"not json")],  # a repeat, junk
    )
    common = range(5, 200)
    r = compare_json(kafka, a, b, "--column", "y")
    assert r["task"] == "classification" and r["matched"] == len(common)
    assert (r["only_in_a"], r["only_in_b"]) == (5, 5)
    assert r["a"] == {"records": 201, "duplicates": 0, "without_sl_id": 1, "without_column": 0}
    assert r["b"] == {"records": 202, "duplicates": 1, "without_sl_id": 0, "without_column": 1}
    differ = [i for i in common if label_a[i] != label_b[i]]
    assert r["agreed"] == len(common) - len(differ)
    assert r["agreement"] == pytest.approx(1 - len(differ) / len(common))
    want: dict[str, dict[str, int]] = {}
    for i in common:
        row = want.setdefault(str(label_a[i]), {})
        row[str(label_b[i])] = row.get(str(label_b[i]), 0) + 1
    assert r["confusion"] == want
    assert {e["sl_id"] for e in r["examples"]} <= {f"src/0/{i}" for i in differ}
    reg = compare_json(kafka, a, b, "-c", "p")
    d = np.array([delta[i] for i in common])
    assert reg["task"] == "regression" and reg["matched"] == len(common)
    assert reg["mae"] == pytest.approx(d.mean())
    assert reg["rmse"] == pytest.approx(np.sqrt((d**2).mean()))
    assert reg["max_abs_diff"] == pytest.approx(0.5)
    text = cli("compare", a, b, "-c", "y", "-b", kafka.bootstrap_servers)
    assert text.returncode == 0, text.stderr
    assert f"agreement: {1 - len(differ) / len(common):.2%}" in text.stdout
    assert f"only in {a}: 5; only in {b}: 5" in text.stdout


def test_compare_two_copies_of_a_pipeline_in_their_own_groups(kafka, topic_factory):
    """S5's pre-production form: the same pipeline twice, champion and challenger."""
    src, out_a, out_b = topic_factory(partitions=2), topic_factory(), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    m1, m2 = trained(50, 3), trained(120, 4, seed=1)
    reg.push(m1, name="hp", alias="champion", signature=FEATURES)
    reg.push(m2, name="hp", alias="challenger", signature=FEATURES)
    stream = houses(2000, seed=4)
    produce(kafka, src, records(stream), keys=[str(i).encode() for i in stream["id"]])
    for alias, out in (("champion", out_a), ("challenger", out_b)):
        pipeline = (
            sl.read.from_kafka(src)
            | sl.decode.json(SCHEMA)
            | sl.ml.predict("hp", output="price", alias=alias, topic=control, artifact_topic=arts)
            | sl.write.to_kafka(out, partitions=1)
        )
        stats = sl.run(pipeline, kafka=kafka, name=f"copy-{alias}-{src}", max_records=len(stream))
        assert stats.records_out == len(stream)
    r = compare_json(kafka, out_a, out_b, "--column", "price")
    assert r["matched"] == len(stream) and r["only_in_a"] == r["only_in_b"] == 0
    X = stream.select(FEATURES).to_numpy()
    offline = m2.predict(X) - m1.predict(X)
    assert r["mae"] == pytest.approx(np.abs(offline).mean(), rel=1e-4)
    assert r["rmse"] == pytest.approx(np.sqrt((offline**2).mean()), rel=1e-4)


def test_compare_errors_are_one_line(kafka, topic_factory):
    a = topic_factory()
    missing = cli("compare", a, "no-such-topic-here", "-b", kafka.bootstrap_servers)
    assert missing.returncode == 2
    assert lines(missing.stderr) == ["error: topic 'no-such-topic-here' does not exist"]
    unreachable = cli("compare", a, a, "-b", "127.0.0.1:1", timeout=60)
    assert unreachable.returncode == 1
    assert len(lines(unreachable.stderr)) == 1 and "error:" in unreachable.stderr
    bad_task = cli("compare", a, a, "--task", "ranking", "-b", kafka.bootstrap_servers)
    assert bad_task.returncode == 2 and len(lines(bad_task.stderr)) == 1
    assert "task must be one of" in bad_task.stderr
