"""Checkpoints on the local broker: what a clean stop commits, and state keys that
survive edits of the pipeline."""

from __future__ import annotations

import orjson
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.errors import StateError
from tests.kafka_helpers import consume_all, produce

pytestmark = pytest.mark.broker


def values(n: int) -> list[bytes]:
    return [orjson.dumps({"a": float(i % 7), "b": float(i % 5)}) for i in range(n)]


def test_clean_stop_after_a_window_fired_commits_it(kafka, topic_factory):
    src, out = topic_factory(), topic_factory()
    produce(kafka, src, values(300))
    p = (
        sl.read.from_kafka(src)
        | sl.decode.json({"a": "float", "b": "float"})
        | sl.window.timer(seconds=0.3)
        | sl.write.to_kafka(out)
    )
    name = f"stop-{src}"
    # commits every 50 ms: one falls while the window still holds the rows
    runner = sl.Runner(
        p,
        kafka=kafka,
        options=sl.RunOptions(name=name, commit_interval=0.05),
        on_progress=lambda s: runner.stop() if s.records_out >= 300 else None,
    )
    # the window releases its rows on a timer call, after the last input batch; then a
    # SIGTERM-like stop (no drain) must commit past them
    first = runner.run()
    assert first.records_out == 300
    again = sl.run(p, kafka=kafka, name=name, idle_timeout=2.0)
    assert again.records_in == 0 and again.records_out == 0
    assert len(consume_all(kafka, out, expected=300)) == 300  # never emitted twice


def kmeans(**kw):
    return sl.ml.sequential_k_means(["a", "b"], k=2, buffer_size=50, **kw)


def test_state_keys_survive_an_inserted_step_and_a_rename_is_an_error(kafka, topic_factory):
    src = topic_factory()
    produce(kafka, src, values(400))
    decode = sl.decode.json({"a": "float", "b": "float"})
    name = f"keys-{src}"
    first = sl.run(
        sl.read.from_kafka(src) | decode | kmeans(), kafka=kafka, name=name, max_records=200
    )
    assert first.records_in == 200

    # a step inserted before the model: its state is found under the same key
    edited = sl.read.from_kafka(src) | decode | sl.filter(pl.col("a") >= 0) | kmeans()
    second = sl.run(edited, kafka=kafka, name=name, max_records=100)
    assert second.restored_partitions == [0]

    # the model renamed: a clear error naming the step and the way out, not a fresh start
    renamed = sl.read.from_kafka(src) | decode | kmeans(name="km")
    with pytest.raises(StateError, match=r"ml\.sequential_k_means.*--reset-state"):
        sl.run(renamed, kafka=kafka, name=name, max_records=50)

    reset = sl.run(
        renamed, kafka=kafka, name=name, max_records=50, reset_state=("ml.sequential_k_means",)
    )
    assert reset.records_in == 50


def test_a_failed_asynchronous_commit_is_retried_at_the_next_checkpoint(kafka, topic_factory):
    """Timed checkpoints commit offsets without waiting; the commit callback (served by
    ``consume()`` on the loop's thread) makes a failed partition dirty again, so the next
    checkpoint commits it; a partition this member no longer has is left alone."""
    from confluent_kafka import KafkaError, TopicPartition

    src, out = topic_factory(), topic_factory()
    produce(kafka, src, values(500))
    p = sl.read.from_kafka(src) | sl.decode.json({"a": "float", "b": "float"}) | kmeans()
    seen: dict[str, object] = {}

    def fail_once(stats):
        if "dirty" in seen or stats.records_in < 500:
            return
        cp = runner.checkpoint
        cp.tasks.dirty.clear()
        err = KafkaError(KafkaError.REBALANCE_IN_PROGRESS)
        cp.on_commit(err, [TopicPartition(src, 0, 250), TopicPartition(src, 7, 1)])
        seen["dirty"], seen["failures"] = set(cp.tasks.dirty), cp.commit_failures
        cp.on_commit(None, [TopicPartition(src, 0, 500)])  # a good one changes nothing
        seen["after_ok"] = cp.commit_failures

    name = f"async-{src}"
    runner = sl.Runner(
        p | sl.write.to_kafka(out),
        kafka=kafka,
        options=sl.RunOptions(name=name, idle_timeout=1.5),
        on_progress=fail_once,
        progress_interval=0.05,
    )
    stats = runner.run()
    assert stats.records_in == 500
    assert seen == {"dirty": {0}, "failures": 1, "after_ok": 1}
    # the end of the run committed synchronously: a restart reads nothing again
    again = sl.run(p, kafka=kafka, name=name, idle_timeout=1.5)
    assert again.records_in == 0
