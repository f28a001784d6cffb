"""Bounded and group datasets on real brokers: Tansu (the session broker) and, where the
log end matters, librdkafka's mock cluster (its watermarks are right)."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.kafka.clients import make_consumer
from streamlearn.runtime.context import dead_letter_info
from tests.datasets.conftest import produce_settled
from tests.kafka_helpers import consume_all

SCHEMA = {"i": "int", "x": "float"}

pytestmark = pytest.mark.broker


def _records(n: int, first: int = 0) -> list[bytes]:
    return [json.dumps({"i": i, "x": i / 10}).encode() for i in range(first, first + n)]


def _ds(topic, kafka, **kw):
    return sl.datasets.from_kafka(topic, decode=sl.decode.json(SCHEMA), kafka=kafka, **kw)


def test_bounded_reads_the_same_records_every_epoch_and_commits_nothing(kafka, topic_factory):
    topic = topic_factory(partitions=2)
    produce_settled(kafka, topic, _records(3000), partitions=2)
    ds = _ds(topic, kafka, meta=True)
    assert ds.slice.ends() == {0: 1500, 1: 1500}
    first, second = ds.to_polars(), ds.to_polars()
    key = ["_partition", "_offset"]
    assert first.height == 3000
    assert first.sort(key).equals(second.sort(key))
    assert sorted(first["i"].to_list()) == list(range(3000))
    assert first.schema["_timestamp"] == pl.Datetime("ms", "UTC")
    # nothing committed under the nominal group id of bounded reads
    from confluent_kafka import TopicPartition

    c = make_consumer(kafka, "streamlearn-dataset")
    try:
        got = c.committed([TopicPartition(topic, p) for p in (0, 1)], timeout=10)
        assert [tp.offset for tp in got] == [-1001, -1001]  # OFFSET_INVALID: no commit
    finally:
        c.close()


def test_explicit_offsets_and_a_saved_slice_read_exactly_that(kafka, topic_factory):
    topic = topic_factory(partitions=2)
    produce_settled(kafka, topic, _records(400), partitions=2)
    ds = _ds(topic, kafka, start={0: 10, 1: 20}, end={0: 50, 1: 25}, meta=True)
    df = ds.to_polars()
    offsets = {p: sorted(g["_offset"].to_list()) for (p,), g in df.group_by("_partition")}
    assert offsets == {0: list(range(10, 50)), 1: list(range(20, 25))}
    saved = ds.slice.to_json()
    produce_settled(kafka, topic, _records(100, first=400), partitions=2)  # the topic grows
    again = sl.datasets.from_slice(saved, decode=sl.decode.json(SCHEMA), kafka=kafka, meta=True)
    assert again.to_polars().sort("_partition", "_offset").equals(df.sort("_partition", "_offset"))
    only_one = _ds(topic, kafka, start={1: 0}, end={1: 3})
    assert only_one.slice.partitions == [1] and only_one.to_polars().height == 3


def test_bad_records_are_counted_and_never_stop_the_epoch(kafka, topic_factory):
    topic = topic_factory()
    values = _records(1000)
    values[10], values[500] = b"{oops", b'{"i": "not an int", "x": 1}'
    produce_settled(kafka, topic, values)
    ds = _ds(topic, kafka)
    df = ds.to_polars()
    assert df.height == 998 and ds.dead_lettered == 2
    assert sorted(o for _, o, _ in ds.report.samples) == [10, 500]
    assert "2 bad records" in str(ds.report)
    assert ds.report.records == 1000 and ds.report.rows == 998


def test_bad_records_go_to_the_dead_letter_topic_when_given(kafka, topic_factory):
    topic = topic_factory()
    dlq = f"{topic}-dlq"
    values = _records(200)
    values[7] = b"not json"
    produce_settled(kafka, topic, values)
    ds = _ds(topic, kafka, dead_letter_topic=dlq)
    assert ds.to_polars().height == 199 and ds.dead_lettered == 1
    (dead,) = consume_all(kafka, dlq, expected=1)
    info = dead_letter_info(dead.headers())
    assert dead.value() == b"not json"
    assert (info["topic"], info["partition"], info["offset"]) == (topic, 0, 7)
    assert "invalid JSON" in info["error"]


def test_pipe_runs_the_stream_operators_batch_by_batch(kafka, topic_factory):
    topic = topic_factory()
    produce_settled(kafka, topic, _records(5000))
    ops = sl.map(lambda df: df.with_columns(x2=pl.col("x") * 2)) | sl.ml.standard_scaler(["x"])
    frames = list(_ds(topic, kafka, meta=True).pipe(ops).frames())
    raw = _ds(topic, kafka, meta=True).to_polars()
    got = pl.concat(frames)
    assert got.columns == ["i", "x", "x2", "_partition", "_offset", "_timestamp"]
    assert sorted(got["i"].to_list()) == list(range(5000))
    # what the stream does: one chain, fed the same records in the same batches
    chain, ctx = ops.build(), sl.Context()
    for frame in frames:
        part = raw.filter(pl.col("_offset").is_in(frame["_offset"].implode())).select("i", "x")
        want = chain.push(Batch.from_frame(part), ctx).data
        assert frame.select("i", "x", "x2").equals(want)
    assert got["x2"].to_list() == (raw["x"] * 2).to_list()
    assert abs(float(got["x"].mean())) < 0.5  # standardised by running statistics


def test_to_numpy_batches_and_arrow(kafka, topic_factory):
    topic = topic_factory()
    produce_settled(kafka, topic, _records(1001))
    ds = _ds(topic, kafka)
    x, y = ds.to_numpy(["x"], "i", dtype=np.float32)
    assert x.shape == (1001, 1) and x.dtype == np.float32 and y.tolist() == list(range(1001))
    assert [b.height for b in ds.batches(250)] == [250, 250, 250, 250, 1]
    assert ds.to_arrow().num_rows == 1001
    with pytest.raises(ConfigError, match="no columns"):
        ds.to_numpy(["nope"])


def test_group_dataset_commits_second_run_reads_nothing_new_group_all(kafka, topic_factory):
    topic = topic_factory(partitions=2)
    produce_settled(kafka, topic, _records(600), partitions=2)
    g = _ds(topic, kafka, group=f"{topic}-g")
    assert sorted(g.to_polars()["i"].to_list()) == list(range(600))
    assert g.to_polars().height == 0
    produce_settled(kafka, topic, _records(10, first=600), partitions=2)
    assert sorted(g.to_polars()["i"].to_list()) == list(range(600, 610))
    other = _ds(topic, kafka, group=f"{topic}-h")
    assert other.to_polars().height == 610


def test_group_stream_timeout_waits_for_new_records(kafka, topic_factory):
    topic = topic_factory()
    produce_settled(kafka, topic, _records(5))
    g = _ds(topic, kafka, group=f"{topic}-g", stream_timeout=6)

    def later() -> None:
        time.sleep(1.5)
        produce_settled(kafka, topic, _records(5, first=5))

    threading.Thread(target=later, daemon=True).start()
    assert sorted(g.to_polars()["i"].to_list()) == list(range(10))


def test_now_is_the_log_end_when_opened(mock_kafka, mock_topic):
    topic = mock_topic(2)
    produce_settled(mock_kafka, topic, _records(500), partitions=2)
    ds = _ds(topic, mock_kafka)
    assert ds.slice.ends() == {0: 250, 1: 250}
    produce_settled(mock_kafka, topic, _records(100, first=500), partitions=2)  # after opening
    assert sorted(ds.to_polars()["i"].to_list()) == list(range(500))
    assert _ds(topic, mock_kafka).slice.records == 600  # opened again: the new log end


def test_lag_per_partition_while_a_producer_writes(mock_kafka, mock_topic):
    topic = mock_topic(2)
    produce_settled(mock_kafka, topic, _records(400), partitions=2)
    g = _ds(topic, mock_kafka, group=f"{topic}-g")
    assert g.lag() == {0: 200, 1: 200}  # nothing committed: the whole log
    assert g.to_polars().height == 400
    assert g.lag() == {0: 0, 1: 0}
    produce_settled(mock_kafka, topic, _records(30, first=400), partitions=2)
    assert g.lag() == {0: 15, 1: 15}


def test_one_line_errors(kafka, topic_factory):
    with pytest.raises(ConfigError, match="does not exist"):
        _ds("no-such-topic-xyz", kafka)
    with pytest.raises(ConfigError, match="needs kafka="):
        sl.datasets.from_kafka("t")
    with pytest.raises(ConfigError, match="end= is for bounded"):
        _ds("t", kafka, group="g", end={0: 1})
    with pytest.raises(ConfigError, match="lag"):
        _ds(topic_factory(), kafka).lag()
