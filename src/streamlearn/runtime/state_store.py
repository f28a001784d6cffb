"""Operator state on a compacted Kafka topic.

One record per (pipeline, partition): key ``<pipeline>/<partition>``, value the
snapshots of every stateful step of that partition's chain *and* the input offsets they
reflect. Keeping them in one record makes the snapshot atomic: no reader can see the
model of one moment with the window buffer or offsets of another.

Restoring reads the topic from the beginning to the log end, last value per key wins
(what compaction would keep; Tansu never compacts, so the reader must not assume it
did). The log end comes from the high watermark, as Kafka defines it. Tansu reports the
first offset of the *last record batch* + 1 instead, so every snapshot is produced and
flushed on its own: each is then a batch of one record and the two readings agree.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from confluent_kafka import Consumer, Producer, TopicPartition

from streamlearn.core.errors import StateError
from streamlearn.core.state import decode_state, encode_state


class Snapshot:
    """The state of one partition's chain and the input offsets it reflects."""

    __slots__ = ("offsets", "steps")

    def __init__(self, steps: dict[str, bytes], offsets: dict[tuple[str, int], int]) -> None:
        self.steps = steps
        self.offsets = offsets

    def encode(self) -> bytes:
        arrays = {f"step:{name}": np.frombuffer(blob, dtype=np.uint8)
                  for name, blob in self.steps.items()}
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
        conf.update({"group.id": f"{pipeline}.state-reader", "enable.auto.commit": False,
                     "enable.partition.eof": False})
        self._conf = conf

    def key(self, partition: int) -> bytes:
        return f"{self.pipeline}/{partition}".encode()

    def load(self, partitions: set[int] | None = None, timeout: float = 30.0
             ) -> dict[int, Snapshot]:
        """The newest snapshot of each partition (optionally only of ``partitions``)."""
        consumer = Consumer(self._conf)
        latest: dict[bytes, bytes | None] = {}
        try:
            meta = consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
            if meta is None or meta.error is not None:
                return {}
            prefix = f"{self.pipeline}/".encode()
            deadline = time.monotonic() + timeout
            for p in meta.partitions:
                _, high = consumer.get_watermark_offsets(TopicPartition(self.topic, p),
                                                         timeout=10)
                if high <= 0:
                    continue
                consumer.assign([TopicPartition(self.topic, p, 0)])
                position = 0
                while position < high:
                    if time.monotonic() > deadline:
                        raise StateError(f"timed out reading state topic {self.topic!r} "
                                         f"partition {p} at offset {position} of {high}")
                    for m in consumer.consume(num_messages=10_000, timeout=0.5):
                        if m.error() is not None:
                            continue
                        position = m.offset() + 1
                        k = m.key()
                        if k is not None and k.startswith(prefix):
                            latest[k] = m.value()
                consumer.unassign()
        finally:
            consumer.close()
        out = {}
        for k, v in latest.items():
            part = int(k.decode().rsplit("/", 1)[1])
            if v is not None and (partitions is None or part in partitions):
                out[part] = Snapshot.decode(v)
        return out

    def save(self, producer: Producer, partition: int, snapshot: Snapshot,
             *, flush: bool = True) -> None:
        """Produce one snapshot; flushed alone so it is a record batch of its own."""
        producer.produce(self.topic, snapshot.encode(), self.key(partition))
        if flush:
            left = producer.flush(30)
            if left:
                raise StateError(f"{left} state records not delivered to {self.topic!r}")
