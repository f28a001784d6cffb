"""Fixtures of the dataset tests: the librdkafka mock cluster (right watermarks) beside
the session's Tansu broker, and producing so that Tansu's watermark is right too."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

import pytest
from confluent_kafka import Producer

from streamlearn.kafka.config import KafkaConfig
from streamlearn.kafka.produce import produce
from tests.datasets.mock_cluster import MockCluster


@pytest.fixture(scope="session")
def mock_cluster() -> Iterator[MockCluster]:
    with MockCluster() as mc:
        yield mc


@pytest.fixture
def mock_kafka(mock_cluster: MockCluster) -> KafkaConfig:
    return KafkaConfig(
        bootstrap_servers=mock_cluster.bootstrap,
        client_options={"session.timeout.ms": 6000, "heartbeat.interval.ms": 500},
    )


@pytest.fixture
def mock_topic(mock_cluster: MockCluster):
    def make(partitions: int = 1) -> str:
        return mock_cluster.topic(f"m-{uuid.uuid4().hex[:10]}", partitions)

    return make


def produce_settled(
    config: KafkaConfig,
    topic: str,
    values: Sequence[bytes],
    *,
    partitions: int = 1,
    timestamps: Sequence[int] | None = None,
) -> None:
    """Record ``i`` to partition ``i % partitions``, and each partition's last record
    in a batch of its own (flushed alone).

    Tansu reports the first offset of the last record batch + 1 as the high watermark
    (BROKERS.md); with a last batch of one record that is the log end, so a test of
    ``end="now"`` holds on Tansu as on Apache Kafka, and comparing with what was
    produced still catches a read that stops short or runs over.
    """
    producer = Producer(config.producer_config())
    failed: list[str] = []

    def report(err, msg) -> None:
        if err is not None:
            failed.append(str(err))

    def send(i: int) -> None:
        if timestamps is None:
            produce(producer, topic, values[i], partition=i % partitions, on_delivery=report)
        else:
            producer.produce(
                topic,
                values[i],
                partition=i % partitions,
                timestamp=timestamps[i],
                on_delivery=report,
            )
            producer.poll(0)

    tail = set({i % partitions: i for i in range(len(values))}.values())
    for i in range(len(values)):
        if i not in tail:
            send(i)
    assert producer.flush(30) == 0
    for i in sorted(tail):
        send(i)
        assert producer.flush(30) == 0
    assert not failed, failed[:3]
