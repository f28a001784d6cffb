"""Reading the state topic to its end (issue 8, item 2).

The last offset of a partition written in a transaction is a commit marker that no
consumer receives: a reader that waits to *receive* high watermark - 1 never finishes.
"""

from __future__ import annotations

import time
import uuid

import pytest

from streamlearn.kafka.clients import make_producer
from streamlearn.runtime.state_store import Snapshot, StateStore

pytestmark = pytest.mark.broker


def _store(kafka, topic, name, **extra):
    return StateStore(topic, name, kafka.consumer_config(name, **extra))


def test_load_after_a_transactional_write_ends_at_the_commit_marker(kafka, topic_factory):
    topic, name = topic_factory(), f"p-{uuid.uuid4().hex[:6]}"
    producer = make_producer(kafka, **{"transactional.id": f"{name}-0"})
    producer.init_transactions(30)
    producer.begin_transaction()
    store = _store(kafka, topic, name, **{"isolation.level": "read_committed"})
    store.save(producer, 0, Snapshot({"km": b"model-1"}, {("src", 0): 7}))
    producer.commit_transaction(30)

    started = time.monotonic()
    snaps = store.load(timeout=10)
    took = time.monotonic() - started
    assert snaps[0].steps == {"km": b"model-1"}
    assert snaps[0].offsets == {("src", 0): 7}
    assert took < 5, f"load took {took:.1f} s"


def test_load_keeps_the_newest_snapshot_per_partition(kafka, topic_factory):
    topic, name = topic_factory(), f"p-{uuid.uuid4().hex[:6]}"
    producer = make_producer(kafka)
    store = _store(kafka, topic, name)
    for i in range(3):
        for p in (0, 1):
            store.save(producer, p, Snapshot({"s": f"{p}-{i}".encode()}, {("src", p): i}))
    other = _store(kafka, topic, "another-pipeline")
    other.save(producer, 0, Snapshot({"s": b"not mine"}, {}))
    snaps = store.load(timeout=10)
    assert {p: s.steps["s"] for p, s in snaps.items()} == {0: b"0-2", 1: b"1-2"}
    assert store.load({1}, timeout=10).keys() == {1}


def test_load_of_an_empty_or_missing_topic_is_empty(kafka, topic_factory):
    assert _store(kafka, topic_factory(), "x").load(timeout=5) == {}
    assert _store(kafka, f"missing-{uuid.uuid4().hex[:6]}", "x").load(timeout=5) == {}


@pytest.mark.parametrize("transactional", [False, True])
def test_snapshots_written_as_one_batch_are_all_read(kafka, topic_factory, transactional):
    """A checkpoint produces every dirty partition's snapshot and flushes once, so the
    last record batch of the state topic holds several snapshots: the reader must not
    stop at a high watermark that points inside it (Tansu reports the last batch's first
    offset + 1), and must read past the commit marker of a transaction."""
    topic, name = topic_factory(), f"p-{uuid.uuid4().hex[:6]}"
    extra = {"transactional.id": f"{name}-0"} if transactional else {}
    producer = make_producer(kafka, **extra)
    store = _store(kafka, topic, name, **{"isolation.level": "read_committed"})
    if transactional:
        producer.init_transactions(30)
    for i in range(3):
        if transactional:
            producer.begin_transaction()
        for p in range(5):
            store.save(
                producer, p, Snapshot({"s": f"{p}-{i}".encode()}, {("src", p): i}), flush=False
            )
        if transactional:
            producer.commit_transaction(30)
        else:
            store.flush(producer)
    snaps = store.load(timeout=10)
    assert {p: s.steps["s"] for p, s in snaps.items()} == {p: f"{p}-2".encode() for p in range(5)}
    assert all(s.offsets == {("src", p): 2} for p, s in snaps.items())
