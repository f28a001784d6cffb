"""Sinks: where rows leave a pipeline (``sl.write.to_kafka("out")``).

Write your own with the contract in :mod:`streamlearn.write.base`: subclass
:class:`Sink` (``write`` buffers, ``flush`` makes durable before offsets are committed)
and :class:`SinkOperator` (``open`` returns the sink, once per run).
"""

from __future__ import annotations

from collections.abc import Sequence

from streamlearn.write.base import Sink, SinkOperator
from streamlearn.write.kafka import KafkaSink, ToKafka


def to_kafka(topic: str, *, key: str | None = None, columns: Sequence[str] | None = None,
             partitions: int | None = None, name: str | None = None) -> ToKafka:
    """Produce rows as JSON records; see :class:`~streamlearn.write.kafka.ToKafka`."""
    return ToKafka(topic=topic, key=key, columns=tuple(columns) if columns else None,
                   partitions=partitions, name=name)


__all__ = ["KafkaSink", "Sink", "SinkOperator", "ToKafka", "to_kafka"]
