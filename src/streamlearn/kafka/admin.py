"""Topic administration: create (idempotently), count partitions, read log ends."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamlearn.core.errors import KafkaError
from streamlearn.kafka.config import KafkaConfig


def _admin(config: KafkaConfig) -> AdminClient:
    return AdminClient(config.admin_config())


def partition_count(config: KafkaConfig, topic: str, timeout: float = 10.0) -> int | None:
    """Partitions of ``topic``, or None when it does not exist."""
    meta = _admin(config).list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        return None
    return len(meta.partitions)


def ensure_topics(config: KafkaConfig, topics: Mapping[str, int] | Sequence[str], *,
                  partitions: int = 1, config_overrides: Mapping[str, str] | None = None,
                  timeout: float = 15.0) -> None:
    """Create the topics that do not exist yet and wait until metadata shows them."""
    wanted = dict(topics) if isinstance(topics, Mapping) else dict.fromkeys(topics, partitions)
    if not wanted:
        return
    admin = _admin(config)
    existing = admin.list_topics(timeout=timeout).topics
    new = [NewTopic(t, num_partitions=n, replication_factor=-1,
                    config=dict(config_overrides or {}))
           for t, n in wanted.items() if t not in existing]
    for topic, future in (admin.create_topics(new, request_timeout=timeout).items()
                          if new else []):
        try:
            future.result(timeout)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise KafkaError(f"cannot create topic {topic!r}: {exc}") from exc
    deadline = time.monotonic() + timeout
    for topic, n in wanted.items():
        while (partition_count(config, topic) or 0) < n:
            if time.monotonic() > deadline:
                raise KafkaError(f"topic {topic!r} did not appear within {timeout} s")
            time.sleep(0.05)


def delete_topics(config: KafkaConfig, topics: Sequence[str], timeout: float = 15.0) -> None:
    for _, future in _admin(config).delete_topics(list(topics),
                                                  request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if exc.args[0].name() != "UNKNOWN_TOPIC_OR_PART":
                raise KafkaError(str(exc)) from exc


def log_end_offsets(config: KafkaConfig, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """The high watermark of each partition, as Kafka defines it (the log end).

    Correct on Apache Kafka. On Tansu the high watermark is the first offset of the last
    record *batch* + 1, so a read "to the end" computed from it stops early when the
    last batch held several records (BROKERS.md).
    """
    n = partition_count(config, topic)
    if n is None:
        return {}
    consumer: Any = Consumer(config.consumer_config(None, **{"group.id": "streamlearn-admin"}))
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
                for p in range(n)}
    finally:
        consumer.close()
