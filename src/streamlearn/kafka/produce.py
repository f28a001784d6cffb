"""Producing with back-off: the one place that handles librdkafka's full local queue.

``Producer.produce`` raises ``BufferError`` when its local queue is full; the record was
not enqueued, and the right reaction is to let the producer send (``poll``) and try the
same record again. Every writer in streamlearn (sinks, dead letters, state snapshots, the
CLI's ``produce``, the demo feeders, tests and benchmarks) goes through these functions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

#: how long one record may wait for room in the local queue before we give up
DEFAULT_TIMEOUT_S = 600.0

Headers = Sequence[tuple[str, bytes]] | None


def produce(
    producer: Any,
    topic: str,
    value: bytes | None,
    key: bytes | None = None,
    *,
    headers: Headers = None,
    partition: int = -1,
    on_delivery: Any = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> None:
    """Produce one record, waiting (``poll``) while the local queue is full.

    Raises ``BufferError`` only when the queue stayed full for ``timeout`` seconds.

    Examples
    --------
    >>> class Fake:
    ...     sent = []
    ...     def produce(self, topic, value, key=None, **kw): self.sent.append((topic, value))
    ...     def poll(self, t): pass
    >>> p = Fake(); produce(p, "t", b"v"); p.sent
    [('t', b'v')]
    """
    start = None
    while True:
        try:
            kwargs: dict[str, Any] = {"partition": partition}
            if headers is not None:
                kwargs["headers"] = headers
            if on_delivery is not None:
                kwargs["on_delivery"] = on_delivery
            producer.produce(topic, value, key, **kwargs)
            return
        except BufferError:
            now = time.monotonic()
            start = now if start is None else start
            if now - start > timeout:
                raise
            producer.poll(0.05)


def produce_all(
    producer: Any,
    topic: str,
    values: Iterable[bytes | None],
    keys: Iterable[bytes | None] | None = None,
    *,
    headers: Iterable[Headers] | None = None,
    partition: int = -1,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> int:
    """Produce records in order with :func:`produce`; returns how many were enqueued."""
    n = 0
    key_it = iter(keys) if keys is not None else None
    head_it = iter(headers) if headers is not None else None
    for value in values:
        key = next(key_it) if key_it is not None else None
        head = next(head_it) if head_it is not None else None
        produce(producer, topic, value, key, headers=head, partition=partition, timeout=timeout)
        n += 1
    return n
