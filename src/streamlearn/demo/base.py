"""The contract of a demo scenario, and the feeder loop the scenarios share.

A scenario says which topics it needs, what it feeds into them, which pipeline runs on
them, what the live view shows and what the JSON summary holds. ``streamlearn demo``
(``cli/demo.py``) does the rest for every scenario alike: the broker, the runner, the
signals, the Rich view (``cli/live.py``). Scenarios know nothing of Rich: the view gets
plain rows and tables from them.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from streamlearn.core.pipeline import Pipeline
from streamlearn.kafka.config import KafkaConfig
from streamlearn.runtime.stats import RunStats

__all__ = ["DemoSettings", "Scenario", "ViewTable", "feed_chunks", "feed_values"]

#: one record for the feeder: (topic, key, value)
Record = tuple[str, bytes | None, bytes]


@dataclass(frozen=True)
class DemoSettings:
    """What the user chose on the command line, for any scenario.

    ``records=None`` is a live stream until stopped; otherwise the feeder produces that
    many records (events, for a scenario with labels) and the run stops once all are in.
    """

    records: int | None = None
    rate: float = 20_000.0
    seed: int = 0
    bad_fraction: float = 0.001
    window: float = 1.0
    buffer_size: int = 1000


@dataclass
class ViewTable:
    """A table of the live view, as plain data (``cli/live.py`` draws it)."""

    title: str
    columns: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)


class Scenario(Protocol):
    """One demo scenario. ``topics`` maps roles (``"in"``, ``"labels"``...) to topic names."""

    #: the name ``--scenario`` takes (kebab-case, named for what it does)
    name: str
    #: a one-line description for ``--help`` and the view's title
    title: str
    topics: dict[str, str]
    #: records produced so far (read by the view while the feeder writes it)
    produced: int

    def create_topics(self, config: KafkaConfig) -> None:
        """Create the input topics (the runner creates the outputs)."""
        ...

    def pipeline(self) -> Pipeline:
        """The pipeline the demo runs."""
        ...

    def max_records(self) -> int | None:
        """The runner's ``max_records`` (None: until stopped)."""
        ...

    def feed(self, config: KafkaConfig, stop: threading.Event, runner: Any) -> None:
        """Produce the input until ``stop`` is set or the bounded run is fed (a thread)."""
        ...

    def view(self, stats: RunStats) -> tuple[list[tuple[str, str]], list[ViewTable]]:
        """The live view's ``(label, value)`` rows and tables."""
        ...

    def summary(self, stats: RunStats) -> dict[str, Any]:
        """The JSON summary of the run (``--json``) and what is printed at the end."""
        ...


def feed_chunks(
    config: KafkaConfig,
    chunk: Callable[[int], list[Record]],
    *,
    stop: threading.Event,
    records: int | None,
    rate: float,
    chunk_size: int,
    runner: Any = None,
    paced: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Produce ``chunk(n)`` records, ``chunk_size`` units at a time, at ``rate`` units per
    second (``paced``) until ``records`` units were fed or ``stop`` is set.

    With a ``runner`` it first waits (at most 60 s) until the pipeline owns its partitions,
    so the stream is live rather than a backlog. Every record is produced through the one
    produce-with-back-off helper; the producer is flushed and dropped before returning, so
    no client outlives the feeder (a late client logs "Connection refused" once the demo's
    broker is gone). Returns the units fed.
    """
    from confluent_kafka import Producer

    from streamlearn.kafka.produce import produce

    deadline = time.monotonic() + 60
    while (
        runner is not None
        and not runner.stats.partitions
        and not stop.is_set()
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    producer = Producer(config.producer_config())
    total = 0
    try:
        while not stop.is_set() and (records is None or total < records):
            n = chunk_size if records is None else min(chunk_size, records - total)
            for topic, key, value in chunk(n):
                produce(producer, topic, value, key)
            producer.poll(0)
            total += n
            if on_progress is not None:
                on_progress(total)
            if paced:
                stop.wait(max(0.0, n / rate - 0.002))
        producer.flush(30)
    finally:
        del producer
    return total


def feed_values(
    config: KafkaConfig,
    values: Callable[[int], list[bytes]],
    topic: str,
    settings: DemoSettings,
    *,
    bad: Sequence[bytes],
    stop: threading.Event,
    runner: Any = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """:func:`feed_chunks` for a scenario with one input topic: ``values(n)`` makes the
    next ``n`` record values, of which a ``settings.bad_fraction`` are replaced by one of
    ``bad`` (so the dead-letter topic has something to show). A bounded run is fed in
    chunks of 5,000 as fast as it goes; a live one at ``settings.rate`` records/s."""
    rng = random.Random(settings.seed)

    def chunk(n: int) -> list[Record]:
        made = values(n)
        if settings.bad_fraction:
            for i in range(len(made)):
                if rng.random() < settings.bad_fraction:
                    made[i] = rng.choice(bad)
        return [(topic, None, v) for v in made]

    bounded = settings.records is not None
    return feed_chunks(
        config,
        chunk,
        stop=stop,
        records=settings.records,
        rate=settings.rate,
        chunk_size=5_000 if bounded else max(1, int(settings.rate / 10)),
        paced=not bounded,
        runner=runner,
        on_progress=on_progress,
    )
