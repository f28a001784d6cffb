"""Operator state on a compacted Kafka topic.

One record per (pipeline, partition): key ``<pipeline>/<partition>``, value the
snapshots of every stateful step of that partition's chain *and* the input offsets they
reflect. Keeping them in one record makes the snapshot atomic: no reader can see the
model of one moment with the window buffer or offsets of another.

Restoring reads the topic from the beginning to the log end, last value per key wins
(what compaction would keep; Tansu never compacts, so the reader must not assume it
did). "The end" is where Kafka says it is: the partition-EOF event librdkafka raises
when the fetch position reaches the high watermark (the last stable offset for
``read_committed``). Waiting to *receive* offset high watermark - 1 instead never ends
on a transactionally written partition, whose last offset is a commit marker that no
consumer receives (issue 8, item 2).

Tansu reports a high watermark that is the first offset of the *last record batch* + 1,
not the log end, so the reader also stops when a poll finds nothing and its position
has reached the reported high watermark (on Tansu the fetch position passes it, and no
EOF event is raised then). A record batch is fetched whole, so the position reaches
that too-low watermark only once the last batch has been read: a checkpoint may write
all its partitions' snapshots as one batch, with one flush (tested on Tansu with
several snapshots a batch, tests/runtime/test_state_store.py). Snapshots used to be
flushed one by one, a round trip per dirty partition at every checkpoint.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from streamlearn.core.errors import StateError
from streamlearn.core.state import decode_state, encode_state
from streamlearn.kafka.clients import make_consumer

__all__ = ["Snapshot", "StateStore"]


class Snapshot:
    """The state of one partition's chain and the input offsets it reflects."""

    __slots__ = ("offsets", "steps")

    def __init__(self, steps: dict[str, bytes], offsets: dict[tuple[str, int], int]) -> None:
        self.steps = steps
        self.offsets = offsets

    def encode(self) -> bytes:
        arrays = {
            f"step:{name}": np.frombuffer(blob, dtype=np.uint8) for name, blob in self.steps.items()
        }
        offs = [[t, p, o] for (t, p), o in self.offsets.items()]
        return encode_state({"offsets": offs, "written_at": time.time()}, arrays)

    @classmethod
    def decode(cls, blob: bytes) -> Snapshot:
        values, arrays = decode_state(blob)
        steps = {k[5:]: v.tobytes() for k, v in arrays.items() if k.startswith("step:")}
        offsets = {(t, int(p)): int(o) for t, p, o in values["offsets"]}
        return cls(steps, offsets)


class StateStore:
    """Reads and writes partition snapshots of one pipeline."""

    def __init__(self, topic: str, pipeline: str, consumer_config: dict[str, Any]) -> None:
        self.topic = topic
        self.pipeline = pipeline
        conf = dict(consumer_config)
        conf.pop("group.id", None)
        conf.update(
            {
                "group.id": f"{pipeline}.state-reader",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "allow.auto.create.topics": False,
            }
        )
        self._conf = conf

    def key(self, partition: int) -> bytes:
        return f"{self.pipeline}/{partition}".encode()

    def load(
        self, partitions: set[int] | None = None, timeout: float = 30.0
    ) -> dict[int, Snapshot]:
        """The newest snapshot of each partition (optionally only of ``partitions``)."""
        consumer = make_consumer(self._conf)
        latest: dict[bytes, bytes | None] = {}
        try:
            meta = consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
            if meta is None or meta.error is not None:
                return {}
            prefix = f"{self.pipeline}/".encode()
            deadline = time.monotonic() + timeout
            for p in meta.partitions:
                self._read_partition(consumer, p, prefix, latest, deadline)
        finally:
            consumer.close()
        out = {}
        for k, v in latest.items():
            part = int(k.decode().rsplit("/", 1)[1])
            if v is not None and (partitions is None or part in partitions):
                out[part] = Snapshot.decode(v)
        return out

    def _read_partition(
        self,
        consumer: Consumer,
        partition: int,
        prefix: bytes,
        latest: dict[bytes, bytes | None],
        deadline: float,
    ) -> None:
        """Read one partition from its start to its end (EOF), keeping the newest value
        of each of this pipeline's keys in ``latest``."""
        tp = TopicPartition(self.topic, partition)
        low, high = consumer.get_watermark_offsets(tp, timeout=10)
        if high <= max(low, 0):
            return  # empty (or everything deleted by retention)
        consumer.assign([TopicPartition(self.topic, partition, OFFSET_BEGINNING)])
        try:
            while True:
                if time.monotonic() > deadline:
                    at = consumer.position([tp])[0].offset
                    raise StateError(
                        f"timed out reading state topic {self.topic!r} "
                        f"partition {partition} at offset {at} of {high}"
                    )
                msgs = consumer.consume(num_messages=10_000, timeout=0.2)
                got = False
                for m in msgs:
                    err = m.error()
                    if err is not None:
                        if err.code() == KafkaError._PARTITION_EOF:
                            return
                        continue
                    got = True
                    k = m.key()
                    if k is not None and k.startswith(prefix):
                        latest[k] = m.value()
                if not got and consumer.position([tp])[0].offset >= high:
                    return  # Tansu: past its (too low) high watermark, no EOF event
        finally:
            consumer.unassign()

    def save(
        self, producer: Producer, partition: int, snapshot: Snapshot, *, flush: bool = True
    ) -> None:
        """Produce one snapshot (and wait for it, unless ``flush=False``: a checkpoint
        produces every partition's snapshot, then calls :meth:`flush` once)."""
        producer.produce(self.topic, snapshot.encode(), self.key(partition))
        if flush:
            self.flush(producer)

    def flush(self, producer: Producer) -> None:
        """Wait until the snapshots produced are delivered."""
        left = producer.flush(30)
        if left:
            raise StateError(f"{left} state records not delivered to {self.topic!r}")
