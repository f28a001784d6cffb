"""confluent-kafka ``Message`` objects as batch provenance (``core.batch.Origin``).

Messages are kept as they are and read lazily with confluent-kafka's own C methods
mapped over the list: decoding reads only the values, a sink only the keys and headers
of the rows it writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from confluent_kafka import Message

from streamlearn.core.batch import Origin, RecordAccess

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
