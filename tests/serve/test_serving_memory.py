"""On a real broker: predict steps hold no artifact bytes of models they do not score,
nor of versions they loaded; and one ``sl.ml.predict`` operator used by two pipelines
running in two threads of one process scores both streams right, each run with its own
loader (one session per run)."""

from __future__ import annotations

import threading

import orjson
import pytest

import streamlearn as sl
from streamlearn.registry.store import INLINE_MAX
from tests.kafka_helpers import consume_all, produce
from tests.serve.houses import FEATURES, SCHEMA, houses, linear_onnx, records

pytestmark = pytest.mark.broker

W_HP, W_OTHER = [1.0, 2.0, 3.0, 4.0], [0.5, 0.0, -1.0, 2.0]


def registry(kafka, topic_factory):
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    for name, w in (("hp", W_HP), ("other", W_OTHER), ("unused", [9.0, 9.0, 9.0, 9.0])):
        onnx = linear_onnx(w, padding_mb=1.0)  # over the inline limit: chunked
        assert len(onnx) > INLINE_MAX
        reg.push(onnx, name=name, alias="champion", format="onnx", signature=FEATURES)
    return control, arts


def linear(stream, w):
    return stream.select(FEATURES).to_numpy() @ w


def test_two_predict_steps_hold_no_artifact_bytes_after_loading(kafka, topic_factory):
    control, arts = registry(kafka, topic_factory)
    src, out = topic_factory(partitions=2), topic_factory()
    stream = houses(800, seed=5)
    produce(kafka, src, records(stream), keys=[str(i).encode() for i in stream["id"]])
    where = {"topic": control, "artifact_topic": arts}
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict("hp", output="price", name="price", **where)
        | sl.ml.predict("other", output="o", version_column="o_version", name="other", **where)
        | sl.write.to_kafka(out, partitions=1)
    )
    stats = sl.run(pipeline, kafka=kafka, name=f"mem-{src}", max_records=stream.height)
    assert stats.records_out == stream.height and stats.dead_lettered == 0
    for step in ("price", "other"):  # the third model's chunks were never kept
        assert stats.metrics[f"{step}.artifact_bytes_held"] == 0
        assert stats.metrics[f"{step}.model_loads"] == 1  # one session for both partitions
    want_p, want_o = linear(stream, W_HP), linear(stream, W_OTHER)
    for m in consume_all(kafka, out, expected=stream.height):
        row = orjson.loads(m.value())
        assert row["price"] == pytest.approx(want_p[row["id"]], rel=1e-5)
        assert row["o"] == pytest.approx(want_o[row["id"]], rel=1e-5, abs=1e-3)


def test_one_operator_in_two_pipelines_on_two_threads(kafka, topic_factory):
    control, arts = registry(kafka, topic_factory)
    op = sl.ml.predict("hp", output="price", name="price", topic=control, artifact_topic=arts)
    runs = []
    for seed in (1, 2):
        src, out = topic_factory(partitions=2), topic_factory()
        stream = houses(3000, seed=seed)
        keys = [str(i).encode() for i in stream["id"]]
        produce(kafka, src, records(stream), keys=keys)
        pipeline = (
            sl.read.from_kafka(src)
            | sl.decode.json(SCHEMA)
            | op
            | sl.write.to_kafka(out, partitions=1)
        )
        options = sl.RunOptions(name=f"shared-{src}", max_records=stream.height)
        runs.append((sl.Runner(pipeline, kafka=kafka, options=options), stream, out))
    errors: list[BaseException] = []

    def run(runner):
        try:
            runner.run()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r, _, _ in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and not any(t.is_alive() for t in threads)
    for runner, stream, out in runs:
        stats = runner.stats
        assert stats.records_out == stream.height and stats.dead_lettered == 0
        assert stats.metrics["price.model_loads"] == 1  # its own loader, shared by partitions
        assert stats.metrics["price.artifact_bytes_held"] == 0
        want = linear(stream, W_HP)
        msgs = consume_all(kafka, out, expected=stream.height)
        ids = sorted(orjson.loads(m.value())["id"] for m in msgs)
        assert ids == list(range(stream.height))  # each record once
        for m in msgs:
            row = orjson.loads(m.value())
            assert row["price"] == pytest.approx(want[row["id"]], rel=1e-5)
            assert row["model_version"] == 1
