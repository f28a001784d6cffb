"""Sinks (``sl.write.to_kafka("out")``)."""

from __future__ import annotations

from collections.abc import Sequence

from streamlearn.write.kafka import ToKafka


def to_kafka(topic: str, *, key: str | None = None, columns: Sequence[str] | None = None,
             partitions: int | None = None, name: str | None = None) -> ToKafka:
    """Produce rows as JSON records; see :class:`~streamlearn.write.kafka.ToKafka`."""
    return ToKafka(topic=topic, key=key, columns=tuple(columns) if columns else None,
                   partitions=partitions, name=name)


__all__ = ["to_kafka"]
