"""Session fixtures: one broker for the whole run, a fresh topic per test.

Set ``STREAMLEARN_TEST_BOOTSTRAP=host:port`` to run the broker tests unchanged against
another cluster (Apache Kafka, Redpanda...) instead of the local Tansu broker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from streamlearn.kafka.admin import ensure_topics
from streamlearn.kafka.config import KafkaConfig
from streamlearn.kafka.local_broker import LocalBroker


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaConfig]:
    external = os.environ.get("STREAMLEARN_TEST_BOOTSTRAP")
    if external:
        yield KafkaConfig(bootstrap_servers=external)
        return
    with LocalBroker() as broker:
        yield KafkaConfig.for_local_broker(broker.bootstrap)


@pytest.fixture
def topic_factory(kafka: KafkaConfig) -> Callable[..., str]:
    def make(partitions: int = 1, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        ensure_topics(kafka, {name: partitions})
        return name

    return make
