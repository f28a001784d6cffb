"""Topic administration: create (idempotently), count partitions, read configs and
log ends.

No call here creates a topic as a side effect: the admin client is made with
``allow.auto.create.topics=false`` (see :meth:`KafkaConfig.admin_config
<streamlearn.kafka.config.KafkaConfig.admin_config>`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from streamlearn.core.errors import KafkaError
from streamlearn.kafka.clients import make_admin, make_consumer
from streamlearn.kafka.config import KafkaConfig

__all__ = [
    "create_topics",
    "delete_topics",
    "ensure_topics",
    "log_end_offsets",
    "partition_count",
    "topic_config",
    "topic_partitions",
]


def _admin(config: KafkaConfig) -> AdminClient:
    return make_admin(config)


def partition_count(config: KafkaConfig, topic: str, timeout: float = 10.0) -> int | None:
    """Partitions of ``topic``, or None when it does not exist (never creates it)."""
    meta = _admin(config).list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        return None
    return len(meta.partitions)


def topic_partitions(config: KafkaConfig, timeout: float = 10.0) -> dict[str, int]:
    """Every topic of the cluster with its partition count (one metadata request for
    all topics, which never auto-creates one)."""
    try:
        topics = _admin(config).list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise KafkaError(f"cannot list topics: {exc.args[0].str()}") from None
    return {
        name: len(meta.partitions)
        for name, meta in topics.items()
        if meta.error is None and meta.partitions
    }


def topic_config(config: KafkaConfig, topic: str, timeout: float = 10.0) -> dict[str, str]:
    """The configuration the broker reports for ``topic`` (``describe_configs``).

    Apache Kafka reports every setting, defaults included. Tansu 0.6 reports only the
    settings given when the topic was created (a topic created without any reports
    ``{}``), so a missing key means "the broker default" there.
    """
    admin = _admin(config)  # kept alive until the futures resolve
    futures = admin.describe_configs([ConfigResource("topic", topic)], request_timeout=timeout)
    out: dict[str, str] = {}
    for future in futures.values():
        try:
            entries = future.result(timeout)
        except KafkaException as exc:
            raise KafkaError(
                f"cannot read the config of topic {topic!r}: {exc.args[0].str()}"
            ) from None
        out.update({k: v.value for k, v in entries.items() if v.value is not None})
    return out


def create_topics(
    config: KafkaConfig, specs: Mapping[str, tuple[int, Mapping[str, str]]], timeout: float = 15.0
) -> list[str]:
    """Create each missing topic with exactly its (partitions, config); returns the
    names created (a topic that exists, or that another process created meanwhile, is
    left as it is). Waits until metadata shows every topic with its partitions."""
    if not specs:
        return []
    admin = _admin(config)
    existing = admin.list_topics(timeout=timeout).topics
    new = [
        NewTopic(t, num_partitions=n, replication_factor=-1, config=dict(c))
        for t, (n, c) in specs.items()
        if t not in existing
    ]
    created = []
    for topic, future in admin.create_topics(new, request_timeout=timeout).items() if new else []:
        try:
            future.result(timeout)
            created.append(topic)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise KafkaError(f"cannot create topic {topic!r}: {exc.args[0].str()}") from None
    deadline = time.monotonic() + timeout
    for topic in specs:
        while not partition_count(config, topic):
            if time.monotonic() > deadline:
                raise KafkaError(f"topic {topic!r} did not appear within {timeout} s")
            time.sleep(0.05)
    return created


def ensure_topics(
    config: KafkaConfig,
    topics: Mapping[str, int] | Sequence[str],
    *,
    partitions: int = 1,
    config_overrides: Mapping[str, str] | None = None,
    timeout: float = 15.0,
) -> None:
    """Create the topics that do not exist yet (all with ``config_overrides``) and wait
    until metadata shows them; see :func:`create_topics`."""
    wanted = dict(topics) if isinstance(topics, Mapping) else dict.fromkeys(topics, partitions)
    create_topics(
        config, {t: (n, config_overrides or {}) for t, n in wanted.items()}, timeout=timeout
    )


def delete_topics(config: KafkaConfig, topics: Sequence[str], timeout: float = 15.0) -> None:
    admin = _admin(config)  # kept alive until the futures resolve
    for _, future in admin.delete_topics(list(topics), request_timeout=timeout).items():
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
    consumer: Any = make_consumer(config, None, **{"group.id": "streamlearn-admin"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
            for p in range(n)
        }
    finally:
        consumer.close()
