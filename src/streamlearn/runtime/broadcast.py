"""Broadcast inputs: topics every instance reads in full (a control topic, a table).

A side input declared with ``mode="broadcast"`` (:class:`~streamlearn.core.operator.SideInput`)
is not split among the members of the consumer group: each member assigns itself every
partition of it from the beginning, with no group and no commits, and hands every batch
to the declaring step of **every** partition it owns (each step keeps the table it
needs). The topic is read to its end before the first record of the main input is
processed, so a model registry is loaded before anything is scored, and polled between
batches afterwards, so a change takes effect between two batches. A partition assigned
later gets the whole history replayed into its fresh chain first.

The history is kept the way a compacted topic keeps it: the last record per key, in the
order of those last writes, and no key whose last record is a tombstone (a fresh chain
that never saw the key loses nothing). What stays is what a table built from the topic
needs: a model registry keeps each version's current record and the artifact chunks of
the versions not deleted, not every superseded record nor the chunks of deleted
versions. Records without a key cannot be superseded and are all kept.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from streamlearn.core.errors import ConfigError
from streamlearn.kafka.config import KafkaConfig
from streamlearn.kafka.reader import split_by_partition

log = logging.getLogger("streamlearn.runtime")
Group = tuple[str, int, list[Any]]


class Broadcasts:
    """Reads the broadcast topics of one run and keeps what it read."""

    def __init__(self, kafka: KafkaConfig, topics: list[str], partitions: dict[str, int]) -> None:
        self.topics = topics
        #: per topic partition, in first-read order: the live records, by key (keyless
        #: records by offset), in the order they were last written
        self._live: dict[tuple[str, int], dict[Any, Any]] = {}
        self._ended: set[tuple[str, int]] = set()
        self._all = {(t, p) for t in topics for p in range(partitions[t])}
        conf = kafka.consumer_config(
            f"streamlearn-broadcast-{uuid.uuid4().hex[:12]}", **{"enable.partition.eof": True}
        )
        self.consumer = Consumer(conf)
        self.consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in sorted(self._all)])

    def poll(self, timeout: float = 0.0) -> list[Group]:
        """What arrived since the last call (nothing blocks when ``timeout`` is 0)."""
        msgs = self.consumer.consume(num_messages=10_000, timeout=timeout)
        ends: list[tuple[str, int]] = []
        groups = split_by_partition(msgs, one_topic=len(self.topics) == 1, ends=ends)
        self._ended.update(ends)
        for topic, part, batch in groups:
            self._keep(self._live.setdefault((topic, part), {}), batch)
        return groups

    @property
    def history(self) -> list[Group]:
        """What a partition assigned now is replayed: each topic partition's live records
        in offset order (see the module docstring)."""
        return [(t, p, list(live.values())) for (t, p), live in self._live.items() if live]

    @staticmethod
    def _keep(live: dict[Any, Any], msgs: list[Any]) -> None:
        for m in msgs:
            key = m.key()
            if key is None:
                live[("offset", m.offset())] = m
                continue
            live.pop(key, None)  # a rewrite moves the key to the end: offset order
            if m.value() is not None:
                live[key] = m

    def catch_up(self, timeout: float = 60.0) -> list[Group]:
        """Read every broadcast partition to its end (partition EOF, as Kafka defines the
        end: no watermark arithmetic, so it is right on every broker)."""
        out: list[Group] = []
        deadline = time.monotonic() + timeout
        while not self._all <= self._ended:
            if time.monotonic() > deadline:
                left = sorted(self._all - self._ended)
                raise ConfigError(f"timed out reading broadcast input(s) {left} to the end")
            out.extend(self.poll(0.2))
        log.info(
            "broadcast inputs %s read to the end (%d live records)",
            self.topics,
            sum(len(m) for _, _, m in self.history),
        )
        return out

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a client of a broken connection
            self.consumer.close()
