"""Reads a pipeline's metrics topic into a :class:`MetricsHistory`, in a background thread.

The reader belongs to no consumer group and commits nothing: any number of dashboards
can watch one pipeline without taking partitions from each other or from the pipeline.
It starts ``minutes`` back in time (``offsets_for_times``), at the end of a partition
that holds nothing that recent (reading it all only to skip it would cost a long topic's
whole length), and from the beginning if the broker cannot answer the lookup (reports
older than the start then skipped by their ``ts``). It waits for the topic when the
pipeline has not created it yet.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import orjson

from streamlearn.kafka.config import KafkaConfig

__all__ = ["MetricsFeed"]

log = logging.getLogger("streamlearn.dashboard")


class MetricsFeed:
    """A thread that reads ``topic`` and adds every report to ``history``.

    ``history`` is anything with ``add``, ``error`` and ``closed``; a subclass that reads
    other records overrides :meth:`_take` (``streamlearn.dashboard.series.SeriesFeed``).

    Parameters
    ----------
    kafka : KafkaConfig
        The cluster of the pipeline.
    topic : str
        The metrics topic, ``<pipeline name>.metrics`` by default in the runtime.
    history : MetricsHistory
        Where reports go (anything with ``add``, ``error`` and ``closed``).
    minutes : float or None
        Start this many minutes back; ``None`` reads the topic from the beginning.

    Attributes
    ----------
    start_offsets : dict[int, int] or None
        Where reading started, per partition, once the partitions are assigned: an offset,
        or librdkafka's ``OFFSET_END`` (-1) / ``OFFSET_BEGINNING`` (-2).
    consumed : int
        Records read from the topic, those skipped as too old included.

    Examples
    --------
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> from streamlearn.dashboard.history import MetricsHistory
    >>> feed = MetricsFeed(KafkaConfig("127.0.0.1:1"), "s1.metrics", MetricsHistory())
    >>> feed.topic, feed.running
    ('s1.metrics', False)
    """

    _thread_name = "sl-dashboard-feed"

    def __init__(
        self,
        kafka: KafkaConfig,
        topic: str,
        history: Any,
        *,
        minutes: float | None = 15.0,
    ) -> None:
        self.kafka = kafka
        self.topic = topic
        self.history = history
        self.minutes = minutes
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.start_offsets: dict[int, int] | None = None
        self.consumed = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> MetricsFeed:
        """Start reading in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop reading and close the consumer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        from confluent_kafka import Consumer

        since = time.time() - self.minutes * 60 if self.minutes is not None else None
        # a group id of its own, never joined (assign) nor committed: watching is free
        # connection failures go to the page's status (error_cb), not as log lines
        consumer = Consumer(
            self.kafka.consumer_config(
                f"streamlearn-dashboard-{uuid.uuid4().hex[:12]}",
                log_level=2,
                error_cb=self._kafka_error,
            )
        )
        try:
            if not self._assign(consumer, since):
                return
            self.history.error = None
            while not self._stop.is_set():
                msgs = consumer.consume(num_messages=5000, timeout=0.25)
                if msgs and self.history.error:
                    self.history.error = None
                good = [m for m in msgs if m.error() is None]
                self.consumed += len(good)
                self._take(good, since)
        except Exception as exc:  # the page shows it; the web app keeps serving
            log.error("dashboard feed stopped: %s", exc)
            self.history.error = f"metrics feed stopped: {exc}"
        finally:
            consumer.close()
            self.history.closed = True

    def _take(self, msgs: list[Any], since: float | None) -> None:
        """Add the records of one ``consume()`` (a subclass reads other records)."""
        for msg in msgs:
            report = _parse(msg.value())
            if report is not None and (since is None or report["ts"] >= since):
                self.history.add(report)

    def _kafka_error(self, err: Any) -> None:
        self.history.error = f"Kafka: {err.str()}"

    def _assign(self, consumer: Any, since: float | None) -> bool:
        """Assign every partition of the topic, once it exists, at the start position."""
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        while not self._stop.is_set():
            try:
                meta = consumer.list_topics(self.topic, timeout=2)
                t = meta.topics.get(self.topic)
                parts = sorted(t.partitions) if t is not None and t.error is None else []
            except Exception as exc:
                self.history.error = f"Kafka: cannot read the topic list: {exc}"
                parts = []
            if parts:
                break
            if not (self.history.error or "").startswith("Kafka"):
                self.history.error = f"waiting for topic {self.topic}"
            self._stop.wait(1.0)
        else:
            return False
        start = [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in parts]
        if since is not None:
            try:
                asked = [TopicPartition(self.topic, p, int(since * 1000)) for p in parts]
                found = consumer.offsets_for_times(asked, timeout=5)
            except Exception:  # not every broker answers: read from the start, skip by ts
                found = None
            if found is not None:
                start = [_start_at(f, s) for f, s in zip(found, start, strict=True)]
        consumer.assign(start)
        self.start_offsets = {tp.partition: tp.offset for tp in start}
        return True


def _start_at(found: Any, fallback: Any) -> Any:
    """Where a partition is read from, given its ``offsets_for_times`` answer: the offset
    found, or the end (``OFFSET_END``, -1) when the broker answered that no record is that
    recent; ``fallback`` (the start, old reports then skipped by their ``ts``) when the
    partition has no answer."""
    from confluent_kafka import OFFSET_END

    if found.error is None and (found.offset >= 0 or found.offset == OFFSET_END):
        return found
    return fallback


def _parse(value: bytes | None) -> dict[str, Any] | None:
    """A report, or ``None`` for anything that is not one (the feed is not trusted).

    Examples
    --------
    >>> _parse(b'{"kind": "run", "ts": 1.5}')["ts"], _parse(b"junk"), _parse(b"[1]")
    (1.5, None, None)
    """
    if not value:
        return None
    try:
        report = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(report, dict) or not isinstance(report.get("ts"), (int, float)):
        return None
    return report
