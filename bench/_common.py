"""Shared benchmark plumbing: broker, data loading, subprocess variants with peak RSS."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import venv
from pathlib import Path
from typing import Any

import psutil

HERE = Path(__file__).resolve().parent
QUIX_VENV = HERE / ".venv-quix"


def machine() -> dict[str, Any]:
    import confluent_kafka
    import polars

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "polars": polars.__version__,
        "confluent_kafka": getattr(confluent_kafka, "__version__", "?"),
        "librdkafka": confluent_kafka.libversion()[0],
    }


def quix_python() -> str:
    """A virtual environment with Quix Streams 3.28 (it pins confluent-kafka < 2.13, so it
    never shares streamlearn's environment). Created once, then reused."""
    py = QUIX_VENV / "bin" / "python"
    if (
        py.exists()
        and subprocess.run(
            [str(py), "-c", "import quixstreams, river"], capture_output=True
        ).returncode
        == 0
    ):
        return str(py)
    print("creating the Quix Streams environment (once)...", file=sys.stderr)
    venv.create(QUIX_VENV, with_pip=True, clear=True)
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "quixstreams==3.28.1", "river", "psutil", "orjson"],
        check=True,
    )
    return str(py)


def run_variant(
    cmd: list[str], *, timeout: float = 900.0, env: dict | None = None
) -> dict[str, Any]:
    """Run one variant as a subprocess; its last stdout line is JSON. Adds peak RSS (MB)."""
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
    )
    ps = psutil.Process(proc.pid)
    peak = 0
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(
                c.memory_info().rss for c in ps.children(recursive=True)
            )
            peak = max(peak, rss)
        except psutil.Error:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{cmd} timed out")
        time.sleep(0.05)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["peak_rss_mb"] = round(peak / 2**20, 1)
    return result


def produce(
    bootstrap: str, topic: str, values: list[bytes], keys: list | None = None, partitions: int = 1
) -> None:
    from confluent_kafka import Producer

    from streamlearn.kafka.admin import ensure_topics
    from streamlearn.kafka.config import KafkaConfig
    from streamlearn.kafka.produce import produce as produce_one

    config = KafkaConfig.for_local_broker(bootstrap)
    ensure_topics(config, {topic: partitions})
    producer = Producer(config.producer_config())
    failed: list = []

    def report(err: Any, msg: Any) -> None:
        if err is not None:
            failed.append(err)

    for i, v in enumerate(values):
        produce_one(producer, topic, v, keys[i] if keys else None, on_delivery=report)
    producer.flush(120)
    if failed:
        raise RuntimeError(f"{len(failed)} records not delivered: {failed[0]}")


def consumer_settings(bootstrap: str, group: str) -> dict[str, Any]:
    """The same librdkafka consumer settings for every variant."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.queue.backoff.ms": 10,
        "fetch.max.bytes": 52_428_800,
        "max.partition.fetch.bytes": 10_485_760,
        "queued.min.messages": 200_000,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    }


def s4_stream(
    n_events: int,
    *,
    n_features: int = 12,
    n_classes: int = 2,
    max_delay: int = 200,
    separation: float = 1.5,
    seed: int = 11,
) -> tuple[list[tuple[str, bytes, bytes]], dict[str, Any]]:
    """Scenario S4 input from the shared generator (``streamlearn.datasets.synth.
    late_labels``): ``[(kind, key, value)]`` in arrival order (kind "events" or "labels")
    and facts about the data, among them the Bayes-optimal accuracy."""
    from streamlearn.datasets.synth.late_labels import LateLabels

    stream = LateLabels(
        n_features=n_features,
        classes=range(n_classes),
        max_delay=max_delay,
        separation=separation,
        seed=seed,
        kinds=("events", "labels"),
    )
    return stream.take(n_events), stream.facts()


def produce_interleaved(
    bootstrap: str,
    records: list[tuple[str, bytes, bytes]],
    topics: dict[str, str],
    partitions: int = 1,
) -> None:
    """Produce ``(kind, key, value)`` records in list order, kind mapped to a topic by
    ``topics``, so both topics fill in the order a live stream would have produced them."""
    from confluent_kafka import Producer

    from streamlearn.kafka.admin import ensure_topics
    from streamlearn.kafka.config import KafkaConfig
    from streamlearn.kafka.produce import produce as produce_one

    config = KafkaConfig.for_local_broker(bootstrap)
    ensure_topics(config, dict.fromkeys(topics.values(), partitions))
    producer = Producer(config.producer_config())
    failed: list = []

    def report(err: Any, msg: Any) -> None:
        if err is not None:
            failed.append(err)

    for kind, key, value in records:
        produce_one(producer, topics[kind], value, key, on_delivery=report)
    producer.flush(120)
    if failed:
        raise RuntimeError(f"{len(failed)} records not delivered: {failed[0]}")


def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    """Create topics (name -> partitions) that do not exist yet."""
    from streamlearn.kafka.admin import ensure_topics
    from streamlearn.kafka.config import KafkaConfig

    ensure_topics(KafkaConfig.for_local_broker(bootstrap), topics)
