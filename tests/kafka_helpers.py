"""Small producer/consumer helpers for broker tests (no watermarks: Tansu's are wrong)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from confluent_kafka import Consumer, Producer

from streamlearn.kafka.config import KafkaConfig
from streamlearn.kafka.produce import produce as produce_one


def produce(
    config: KafkaConfig,
    topic: str,
    values: Sequence[bytes | None],
    keys: Sequence[bytes | None] | None = None,
) -> None:
    failed: list[str] = []
    producer = Producer(config.producer_config())
    for i, v in enumerate(values):
        produce_one(
            producer,
            topic,
            v,
            keys[i] if keys is not None else None,
            on_delivery=lambda e, m: failed.append(str(e)) if e else None,
        )
    assert producer.flush(30) == 0
    assert not failed, failed[:3]


def consume_all(
    config: KafkaConfig,
    topic: str,
    *,
    expected: int | None = None,
    timeout: float = 30.0,
    idle: float = 3.0,
) -> list:
    """Read a topic from the start until ``expected`` records or ``idle`` seconds of quiet."""
    consumer = Consumer(config.consumer_config(f"test-reader-{uuid.uuid4().hex[:8]}"))
    consumer.subscribe([topic])
    out: list = []
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            quiet = time.monotonic() - last
            if expected is not None and len(out) >= expected and quiet > 1.0:
                break  # lingered briefly to catch duplicates beyond the expected count
            msgs = consumer.consume(num_messages=10_000, timeout=0.2)
            good = [m for m in msgs if m.error() is None]
            if good:
                out.extend(good)
                last = time.monotonic()
            elif expected is None and quiet > (idle if out else idle * 3):
                break
    finally:
        consumer.close()
    return out
