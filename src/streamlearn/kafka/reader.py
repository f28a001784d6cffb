"""Reading a Kafka topic as micro-batches.

The reader takes what is available, up to ``max_batch`` records: it first drains
librdkafka's local queue without waiting (a busy stream has tens of thousands of
records prefetched, so batches are large and the per-batch cost is amortised), and
only when the queue is empty does it block, for at most ``poll_timeout``, until the
first record arrives -- which it then returns at once with whatever else came with it.
A quiet stream therefore gets tiny batches with no added latency, a busy one large
batches; ``max_wait_ms`` optionally trades latency for larger batches.

Records are split by topic partition: each partition has its own chain of operator
steps and its own state.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING

import numpy as np
from confluent_kafka import Message

from streamlearn.core.errors import KafkaError

if TYPE_CHECKING:
    from confluent_kafka import Consumer

    from streamlearn.read.kafka import FromKafka


class BatchReader:
    """Consume adaptive batches and split them by (topic, partition)."""

    def __init__(self, consumer: Consumer, spec: FromKafka, *, one_topic: bool = True) -> None:
        self.consumer = consumer
        self.spec = spec
        self.one_topic = one_topic
        self.ends: list[tuple[str, int]] = []

    def take_ends(self) -> list[tuple[str, int]]:
        """Topic partitions whose end was reached since the last call (needs the consumer
        setting ``enable.partition.eof``)."""
        ends, self.ends = self.ends, []
        return ends

    def read(self, limit: int | None = None) -> list[tuple[str, int, list[Message]]]:
        """One batch, grouped by topic partition, in offset order within each."""
        spec = self.spec
        want = spec.max_batch if limit is None else max(1, min(limit, spec.max_batch))
        consume = self.consumer.consume
        msgs = consume(num_messages=want, timeout=0)
        if not msgs:
            msgs = consume(num_messages=1, timeout=spec.poll_timeout)
            if not msgs:
                return []
            if want > 1:
                msgs.extend(consume(num_messages=want - 1, timeout=0))
        if spec.max_wait_ms > 0 and len(msgs) < want:
            deadline = time.monotonic() + spec.max_wait_ms / 1000
            while len(msgs) < want and (left := deadline - time.monotonic()) > 0:
                msgs.extend(consume(num_messages=want - len(msgs), timeout=left))
        return split_by_partition(msgs, one_topic=self.one_topic, ends=self.ends)


def split_by_partition(
    msgs: list[Message], *, one_topic: bool = True, ends: list[tuple[str, int]] | None = None
) -> list[tuple[str, int, list[Message]]]:
    """Group messages by (topic, partition), dropping error events (raised if fatal);
    end-of-partition events are noted in ``ends``."""
    if any(map(Message.error, msgs)):
        msgs = _drop_errors(msgs, ends)
    if not msgs:
        return []
    n = len(msgs)
    parts = np.fromiter(map(Message.partition, msgs), dtype=np.int64, count=n)
    if one_topic:
        if (parts == parts[0]).all():
            return [(str(msgs[0].topic()), int(parts[0]), msgs)]
        key = parts
        names = [str(msgs[0].topic())]
    else:
        topics: list[str] = list(map(Message.topic, msgs))  # type: ignore[arg-type]
        names = sorted(set(topics))
        index = {t: i for i, t in enumerate(names)}
        codes = np.fromiter(map(index.__getitem__, topics), dtype=np.int64, count=n)
        key = codes << 32 | parts
    # a fetch returns runs of one topic partition: cut at the run boundaries and join
    # the runs of each (slices, no Python step per message)
    cuts = [0, *(np.flatnonzero(key[1:] != key[:-1]) + 1).tolist(), n]
    groups: dict[int, list[Message]] = {}
    for lo, hi in itertools.pairwise(cuts):
        k = int(key[lo])
        if k in groups:
            groups[k].extend(msgs[lo:hi])
        else:
            groups[k] = msgs[lo:hi]
    return [(names[k >> 32], k & 0xFFFFFFFF, ms) for k, ms in groups.items()]


def _drop_errors(msgs: list[Message], ends: list[tuple[str, int]] | None = None) -> list[Message]:
    from confluent_kafka import KafkaError as CKError

    kept = []
    for m in msgs:
        err = m.error()
        if err is None:
            kept.append(m)
        elif err.code() == CKError._PARTITION_EOF:
            if ends is not None:
                ends.append((str(m.topic()), int(m.partition() or 0)))
        elif err.fatal() or (
            not err.retriable()
            and err.code()
            in (
                CKError.UNKNOWN_TOPIC_OR_PART,
                CKError.TOPIC_AUTHORIZATION_FAILED,
                CKError.GROUP_AUTHORIZATION_FAILED,
            )
        ):
            raise KafkaError(f"consumer error on {m.topic()}[{m.partition()}]: {err}")
    return kept
