"""A sink whose target goes away, in a run on the local broker: the runner pauses its
partitions (nothing read, nothing committed), keeps its group, resumes when the target
is back (every record written once); a non-retriable error still stops the run, and so
does an outage longer than the sink's ``retry_for``.

The target here is a list behind a switch (the database tests in tests/write/ stop real
PostgreSQL and InfluxDB servers); what is under test is the runtime's pause.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

import streamlearn as sl
from streamlearn.runtime.options import RunOptions
from streamlearn.runtime.runner import Runner
from tests.kafka_helpers import consume_all, produce

pytestmark = pytest.mark.broker


class Target:
    """What the sink writes to: rows, and a switch that makes it unreachable."""

    def __init__(self) -> None:
        self.rows: list[bytes] = []
        self.away = threading.Event()
        self.broken: Exception | None = None
        self.attempts = 0


class SwitchSink(sl.write.Sink):
    def __init__(self, target: Target, retry_for: float) -> None:
        self.target, self.retry_for, self.buffer = target, retry_for, []

    def write(self, batch: sl.Batch) -> None:
        self.buffer.extend(batch.record_ids())

    def flush(self) -> None:
        t = self.target
        if not self.buffer:
            return
        t.attempts += 1
        if t.broken is not None:
            raise t.broken
        if t.away.is_set():
            raise sl.SinkUnavailable(
                "connection refused", operator="db", target="test db", retry_for=self.retry_for
            )
        t.rows.extend(self.buffer)
        self.buffer = []


@dataclass(frozen=True)
class ToSwitch(sl.write.SinkOperator):
    target: Any = field(default=None, compare=False)
    retry_for: float = 60.0

    def open(self, ctx: sl.Context) -> sl.write.Sink:
        return SwitchSink(self.target, self.retry_for)


def start(
    kafka, src: str, target: Target, out: str | None = None, **options: Any
) -> tuple[Runner, threading.Thread]:
    pipeline = (
        sl.read.from_kafka(src, max_batch=200)
        | sl.decode.json({"n": "int"})
        | ToSwitch(target=target, retry_for=options.pop("retry_for", 60.0), name="db")
    )
    if out is not None:  # a Kafka output of the same batches, after the sink
        pipeline = pipeline | sl.write.to_kafka(out)
    runner = Runner(
        pipeline,
        kafka=kafka,
        options=RunOptions(name=f"bp-{src}", commit_interval=0.1, **options),
    )
    runner.error = None  # type: ignore[attr-defined]

    def run() -> None:
        try:
            runner.run()
        except Exception as exc:
            runner.error = exc  # type: ignore[attr-defined]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return runner, thread


def wait_for(cond, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("delivery", ["at-least-once", "exactly-once"])
def test_a_sink_away_pauses_the_partitions_until_it_is_back(kafka, topic_factory, caplog, delivery):
    src, out, target = topic_factory(2), topic_factory(), Target()
    values = [orjson.dumps({"n": i}) for i in range(2000)]
    keys = [str(i).encode() for i in range(2000)]
    produce(kafka, src, values[:1000], keys[:1000])
    with caplog.at_level(logging.WARNING, logger="streamlearn.runtime"):
        runner, thread = start(kafka, src, target, out, delivery=delivery)
        wait_for(lambda: len(target.rows) == 1000)
        target.away.set()
        produce(kafka, src, values[1000:], keys[1000:])
        stats = runner.stats
        wait_for(lambda: stats.paused_partitions == 2)
        read, commits = stats.records_in, stats.commits
        time.sleep(3.0)  # paused: nothing read, nothing written, nothing committed
        assert (stats.records_in, stats.commits, len(target.rows)) == (read, commits, 1000)
        assert stats.sink_away == "test db unavailable: connection refused (step 'db')"
        assert stats.paused_s >= 2 and 3 <= target.attempts < 40  # back-off, not a busy loop
        target.away.clear()
        wait_for(lambda: len(target.rows) == 2000)
        runner.stop()
        thread.join(30)
    assert runner.error is None  # type: ignore[attr-defined]
    assert sorted(target.rows) == sorted(set(target.rows)) and len(target.rows) == 2000
    assert stats.records_in == 2000 and stats.paused_partitions == 0 and stats.sink_away == ""
    assert stats.sink_pauses == 1 and stats.assignments == 1  # one pause, no rebalance
    lines = [r.getMessage() for r in caplog.records]
    assert any("test db away (connection refused): paused 2 partitions, retrying in" in m
               for m in lines), lines  # fmt: skip
    assert any("test db back after" in m and "resumed 2 partitions" in m for m in lines)
    # the Kafka output of the same batches: every record once (in exactly-once mode its
    # transaction stayed open through the pause and was committed after the sink wrote)
    got = consume_all(kafka, out, expected=2000)
    assert sorted(dict(m.headers())["sl-id"] for m in got) == sorted(target.rows)


def test_a_non_retriable_error_while_away_stops_the_run(kafka, topic_factory):
    src, target = topic_factory(), Target()
    produce(kafka, src, [orjson.dumps({"n": i}) for i in range(100)])
    target.away.set()
    runner, thread = start(kafka, src, target)
    wait_for(lambda: runner.stats.paused_partitions == 1)
    target.broken = sl.ConfigError("to_postgres: column 'n' is Int64 in the stream but date")
    thread.join(30)
    assert isinstance(runner.error, sl.ConfigError)  # type: ignore[attr-defined]
    assert "column 'n'" in str(runner.error) and not target.rows  # type: ignore[attr-defined]


def test_an_outage_longer_than_retry_for_stops_the_run(kafka, topic_factory):
    src, target = topic_factory(), Target()
    produce(kafka, src, [orjson.dumps({"n": i}) for i in range(100)])
    target.away.set()
    runner, thread = start(kafka, src, target, retry_for=2.0)
    thread.join(60)
    error = runner.error  # type: ignore[attr-defined]
    assert isinstance(error, sl.OperatorError) and not thread.is_alive()
    assert "test db still unavailable after" in str(error) and "retry_for=2" in str(error)
    assert runner.stats.commits == 0 and not target.rows
