"""Timestamp alignment of co-partitioned inputs (events and their late labels).

A consumer reading two topics fetches them independently: catching up on a backlog, one
fetch of small label records covers far more of the stream than one fetch of events, so
without care the labels run hundreds of thousands of records ahead, wait in the
learner's state (costly to join, and dropped past ``max_pending``), and events are
predicted by a model that has not seen labels produced long before them.

Kafka Streams solves this by handing a task's records over in timestamp order across its
partitions (``max.task.idle.ms``). The :class:`Aligner` does the same at batch
granularity: for each partition number it holds back records whose timestamp is beyond
what *every* input of that partition has delivered, releases the rest (feedback topics
first, so labels are learned before the events that follow them are predicted), and asks
the runner to pause a topic partition that has run too far ahead. An input with nothing
buffered does not hold the others back once it is caught up (the consumer reported the
end of the partition) or after ``max_wait`` seconds; a quiet label topic therefore never
stalls the events. Records within one topic partition always stay in offset order, and
nothing is dropped: held records are simply not yet processed, so their offsets are not
committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
from confluent_kafka import Message

Group = tuple[str, int, list[Any]]
_TS = Message.timestamp
_SECOND = itemgetter(1)  # (type, ms) -> ms, with no Python frame per record


def _timestamps(msgs: Sequence[Any]) -> np.ndarray:
    return (
        np.fromiter(map(_SECOND, map(_TS, msgs)), dtype=np.int64, count=len(msgs))
        if msgs and isinstance(msgs[0], Message)
        else np.fromiter((m.timestamp()[1] for m in msgs), dtype=np.int64, count=len(msgs))
    )


class Aligner:
    """Buffers records of co-partitioned topics and releases them in timestamp order.

    Parameters
    ----------
    topics
        Every input topic; partition *p* of each is processed together.
    first
        Topics released first within a step of time (the feedback/label topics).
    max_buffered
        Records held per topic partition before it should be paused.
    max_wait
        Seconds a record may be held for an input that delivers nothing.
    clock
        Monotonic clock (injected by tests).

    Examples
    --------
    >>> class M:
    ...     def __init__(self, t, ts): self.t, self.ts = t, ts
    ...     def timestamp(self): return (1, self.ts)
    >>> a = Aligner(["events", "labels"], first=["labels"])
    >>> a.add([("events", 0, [M("events", 1), M("events", 5)]),
    ...        ("labels", 0, [M("labels", 2), M("labels", 9)])])
    >>> [(t, [m.ts for m in ms]) for t, _, ms in a.release()]
    [('labels', [2]), ('events', [1, 5])]
    """

    def __init__(
        self,
        topics: Sequence[str],
        *,
        first: Iterable[str] = (),
        max_buffered: int = 50_000,
        max_wait: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.topics = list(dict.fromkeys(topics))
        first = [t for t in first if t in self.topics]
        self.order = first + [t for t in self.topics if t not in first]
        self.max_buffered = max_buffered
        self.max_wait = max_wait
        self.clock = clock
        self.buffers: dict[tuple[str, int], tuple[list[Any], np.ndarray]] = {}
        self.held_since: dict[int, float] = {}
        self.last_seen: dict[tuple[str, int], int] = {}
        self.caught_up: set[tuple[str, int]] = set()

    # -- input ------------------------------------------------------------------------
    def add(self, groups: Iterable[Group]) -> None:
        for topic, partition, msgs in groups:
            if not msgs:
                continue
            key = (topic, partition)
            ts = _timestamps(msgs)
            self.caught_up.discard(key)
            self.last_seen[key] = max(int(ts.max()), self.last_seen.get(key, -1))
            if key in self.buffers:
                old, old_ts = self.buffers[key]
                self.buffers[key] = (old + list(msgs), np.concatenate([old_ts, ts]))
            else:
                self.buffers[key] = (list(msgs), ts)
            self.held_since.setdefault(partition, self.clock())

    def end_of_partition(self, topic: str, partition: int) -> None:
        """The consumer has read everything there is of this topic partition for now."""
        if (topic, partition) not in self.buffers:
            self.caught_up.add((topic, partition))

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what is held for partitions this member no longer owns (their records are
        read again, from the committed offsets, by the new owner)."""
        gone = set(partitions)
        for key in [k for k in self.buffers if k[1] in gone]:
            del self.buffers[key]
        for key in [k for k in self.last_seen if k[1] in gone]:
            self.last_seen.pop(key, None)
            self.caught_up.discard(key)
        for p in gone:
            self.held_since.pop(p, None)

    # -- output -----------------------------------------------------------------------
    @property
    def held(self) -> int:
        return sum(len(m) for m, _ in self.buffers.values())

    def ahead(self) -> list[tuple[str, int]]:
        """Topic partitions holding more than ``max_buffered`` records: pause them."""
        return [k for k, (m, _) in self.buffers.items() if len(m) > self.max_buffered]

    def release(self, *, everything: bool = False) -> list[Group]:
        """Records every input of their partition has caught up with, labels first."""
        out: list[Group] = []
        now = self.clock()
        for p in sorted({k[1] for k in self.buffers}):
            flush = everything or now - self.held_since.get(p, now) >= self.max_wait
            limit = None if flush else self._limit(p)
            released = False
            for topic in self.order:
                key = (topic, p)
                if key not in self.buffers:
                    continue
                msgs, ts = self.buffers[key]
                n = (
                    len(msgs)
                    if limit is None
                    else int(np.searchsorted(np.maximum.accumulate(ts), limit, side="right"))
                )
                if not n:
                    continue
                out.append((topic, p, msgs if n == len(msgs) else msgs[:n]))
                released = True
                if n == len(msgs):
                    del self.buffers[key]
                else:
                    self.buffers[key] = (msgs[n:], ts[n:])
            if not any(k[1] == p for k in self.buffers):
                self.held_since.pop(p, None)
            elif released:  # progress: what is left has been held only from now on
                self.held_since[p] = now
        return out

    def _limit(self, partition: int) -> float:
        """The newest timestamp every input of ``partition`` has delivered."""
        limit = float("inf")
        for topic in self.topics:
            key = (topic, partition)
            if key in self.buffers:
                limit = min(limit, float(self.buffers[key][1].max()))
            elif key not in self.caught_up:
                limit = min(limit, float(self.last_seen.get(key, -1)))
        return limit
