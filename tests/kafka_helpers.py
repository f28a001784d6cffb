"""Small producer/consumer helpers for broker tests (no watermarks: Tansu's are wrong)."""

from __future__ import annotations

import sys
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


def run_command(
    pipeline: str,
    kafka: KafkaConfig,
    name: str,
    *extra: str,
    session_ms: int = 6000,
    heartbeat_ms: int = 500,
    commit_interval: float = 0.2,
) -> list[str]:
    """``streamlearn run PIPELINE --name NAME`` on ``kafka`` with the fast group-join and
    fetch settings the crash tests use (a subprocess command line, to kill)."""
    return [
        sys.executable,
        "-m",
        "streamlearn.cli.main",
        "run",
        pipeline,
        "--name",
        name,
        "-b",
        kafka.bootstrap_servers,
        "-X",
        f"session.timeout.ms={session_ms}",
        "-X",
        f"heartbeat.interval.ms={heartbeat_ms}",
        "-X",
        "fetch.queue.backoff.ms=10",
        "--commit-interval",
        str(commit_interval),
        *extra,
    ]
