"""Timestamp alignment of co-partitioned inputs, on fake messages (no broker)."""

from __future__ import annotations

from streamlearn.runtime.align import Aligner


class Msg:
    def __init__(self, topic: str, ts: int) -> None:
        self.topic_, self.ts = topic, ts

    def timestamp(self) -> tuple[int, int]:
        return (1, self.ts)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def group(topic, *stamps, partition=0):
    return (topic, partition, [Msg(topic, t) for t in stamps])


def stamps(released):
    return [(t, p, [m.ts for m in ms]) for t, p, ms in released]


def aligner(**kw):
    return Aligner(["events", "labels"], first=["labels"], **kw)


def test_labels_ahead_of_the_events_are_held_back():
    a = aligner()
    a.add([group("events", 1, 2, 3), group("labels", 2, 3, 7, 8, 9)])
    assert stamps(a.release()) == [("labels", 0, [2, 3]), ("events", 0, [1, 2, 3])]
    assert a.held == 3
    a.add([group("events", 4, 8)])
    assert stamps(a.release()) == [("labels", 0, [7, 8]), ("events", 0, [4, 8])]
    assert stamps(a.release(everything=True)) == [("labels", 0, [9])]
    assert a.held == 0


def test_an_input_never_seen_holds_the_other_until_it_is_caught_up():
    a = aligner()
    a.add([group("events", 1, 2)])
    assert a.release() == []
    a.end_of_partition("labels", 0)
    assert stamps(a.release()) == [("events", 0, [1, 2])]


def test_a_silent_input_does_not_stall_the_other_longer_than_max_wait():
    clock = Clock()
    a = aligner(max_wait=1.0, clock=clock)
    a.add([group("labels", 1), group("events", 1)])
    a.release()
    a.add([group("events", 5, 6)])  # labels have said nothing past ts 1
    assert a.release() == []
    clock.t = 1.5
    assert stamps(a.release()) == [("events", 0, [5, 6])]


def test_offset_order_is_kept_when_timestamps_go_back():
    a = aligner()
    a.add([group("events", 1, 9, 2), group("labels", 3)])
    # 2 comes after 9 in the log: it waits with 9, never jumps ahead of it
    assert stamps(a.release()) == [("labels", 0, [3]), ("events", 0, [1])]


def test_partitions_are_aligned_separately_and_forgotten_on_revoke():
    a = Aligner(["events", "labels"], first=["labels"], max_buffered=2)
    a.add(
        [
            group("events", 1, 2, partition=0),
            group("labels", 5, 6, 7, partition=0),
            group("events", 1, partition=1),
        ]
    )
    assert stamps(a.release()) == [("events", 0, [1, 2])]
    assert a.ahead() == [("labels", 0)]
    a.forget([0])
    assert a.held == 1 and a.ahead() == []
