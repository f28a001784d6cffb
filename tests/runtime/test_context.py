"""KafkaContext.emit: every record produced once, in order, with its sl-id header."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from streamlearn.core.batch import Batch, Origin
from streamlearn.runtime.context import KafkaContext


class FakeProducer:
    """Records produce() calls; raises BufferError on the calls numbered in ``full_at``."""

    def __init__(self, full_at: set[int] = frozenset()) -> None:
        self.calls = 0
        self.full_at = set(full_at)
        self.sent: list[tuple] = []
        self.polls = 0

    def produce(
        self,
        topic,
        value=None,
        key=None,
        partition=-1,
        on_delivery=None,
        callback=None,
        timestamp=0,
        headers=None,
    ):
        self.calls += 1
        if self.calls in self.full_at:
            raise BufferError("Local: Queue full")
        self.sent.append((topic, value, key, partition, timestamp, headers))

    def poll(self, timeout=None):
        self.polls += 1
        return 0


def batch(n: int, first: int = 40) -> Batch:
    origin = Origin("src", 3, np.arange(first, first + n))
    return Batch(pl.DataFrame({"x": list(range(n))}), origin, np.arange(n))


def test_emit_sends_values_keys_and_ids_in_order():
    producer = FakeProducer()
    ctx = KafkaContext(producer, pipeline="p", dead_letter_topic="p.dlq")
    ctx.emit("out", batch(3), [b"a", b"b", b"c"], [b"k0", None, b"k2"])
    assert [s[1] for s in producer.sent] == [b"a", b"b", b"c"]
    assert [s[2] for s in producer.sent] == [b"k0", None, b"k2"]
    assert [s[5] for s in producer.sent] == [
        [("sl-id", f"src/3/{o}".encode())] for o in (40, 41, 42)
    ]
    assert all(s[0] == "out" and s[3] == -1 and s[4] == 0 for s in producer.sent)
    assert ctx.produced == {"out": 3}


@pytest.mark.parametrize("full_at", [{1}, {4}, {6}, {2, 3, 5}])
def test_emit_goes_on_after_a_full_queue_without_loss_or_repeat(full_at):
    producer = FakeProducer(full_at)
    ctx = KafkaContext(producer, pipeline="p", dead_letter_topic="p.dlq")
    values = [f"v{i}".encode() for i in range(6)]
    ctx.emit("out", batch(6), values)
    assert [s[1] for s in producer.sent] == values
    assert [s[5][0][1] for s in producer.sent] == [f"src/3/{40 + i}".encode() for i in range(6)]
    assert producer.polls >= 1
    assert ctx.produced == {"out": 6}


@pytest.mark.parametrize("full_at", [set(), {1}, {3}, {2, 5}])
def test_emit_writes_extra_header_columns_after_sl_id(full_at):
    producer = FakeProducer(full_at)
    ctx = KafkaContext(producer, pipeline="p", dead_letter_topic="p.dlq")
    versions = [f"hp:{i % 2 + 1}".encode() for i in range(5)]
    ctx.emit("out", batch(5), [b"v"] * 5, headers=[("sl-model-version", versions)])
    assert [s[5] for s in producer.sent] == [
        [("sl-id", f"src/3/{40 + i}".encode()), ("sl-model-version", versions[i])] for i in range(5)
    ]
    with pytest.raises(ValueError, match="header column"):
        ctx.emit("out", batch(2), [b"a", b"b"], headers=[("h", [b"only one"])])


def test_emit_refuses_mismatched_lengths():
    ctx = KafkaContext(FakeProducer(), pipeline="p", dead_letter_topic="p.dlq")
    with pytest.raises(ValueError):
        ctx.emit("out", batch(2), [b"only one"])


def test_a_run_widens_the_young_generation_and_gives_it_back():
    import gc

    from streamlearn.runtime.context import (
        RUN_GC_THRESHOLD,
        freeze_long_lived,
        release_long_lived,
    )

    before = gc.get_threshold()
    freeze_long_lived()
    freeze_long_lived()  # a nested run changes nothing more
    try:
        assert gc.get_threshold()[0] == max(before[0], RUN_GC_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > 0
    finally:
        release_long_lived()
        assert gc.get_threshold()[0] == max(before[0], RUN_GC_THRESHOLD)  # one run left
        release_long_lived()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
