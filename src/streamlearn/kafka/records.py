"""confluent-kafka ``Message`` objects as batch provenance (``core.batch.Origin``).

Messages are kept as they are and read lazily with confluent-kafka's own C methods
mapped over the list: decoding reads only the values, a sink only the keys and headers
of the rows it writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from confluent_kafka import Message

from streamlearn.core.batch import Batch, Origin, RecordAccess

KAFKA_ACCESS = RecordAccess(
    key=Message.key, value=Message.value, timestamp=Message.timestamp, headers=Message.headers
)


def origin_from_messages(topic: str, partition: int, messages: Sequence[Message]) -> Origin:
    """The provenance of a batch of records of one topic partition, in offset order.

    Examples
    --------
    >>> origin_from_messages("t", 0, []).offsets.tolist()
    []
    """
    # map() over the C method: no Python frame per record (3x faster than a genexpr)
    offsets = np.fromiter(map(Message.offset, messages), dtype=np.int64, count=len(messages))
    return Origin(topic, partition, offsets, messages=messages, access=KAFKA_ACCESS)


def batch_from_messages(topic: str, partition: int, messages: Sequence[Message]) -> Batch:
    """The records of one topic partition as a batch with no columns yet (a decoder
    such as ``sl.decode.json`` adds them from the values). The runtime and the
    datasets both start from this.

    Examples
    --------
    >>> batch_from_messages("t", 0, []).height
    0
    """
    n = len(messages)
    return Batch(
        pl.DataFrame(height=n),
        origin_from_messages(topic, partition, messages),
        np.arange(n, dtype=np.int64),
    )
