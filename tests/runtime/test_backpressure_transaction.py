"""Exactly-once: a pause holds the run's Kafka transaction open, and a broker aborts a
transaction older than the producer's ``transaction.timeout.ms``. The runner asks for a
timeout that covers its sinks' ``retry_for``; a pause that would outlive it anyway ends
with one line before the broker acts; an idle run renews its transaction (the metrics
feed writes into it every second) instead of letting it age.

The local broker (Tansu) never aborts a transaction on its own (see BROKERS.md), so
these tests check the client side of the bargain, which is what decides whether Apache
Kafka would abort: the timeout the producer is given, the age of the open transaction,
and when the pause gives up.
"""

from __future__ import annotations

import dataclasses
import time

import orjson
import pytest

from tests.kafka_helpers import produce
from tests.runtime.test_backpressure import Target, start, wait_for

pytestmark = pytest.mark.broker


def test_a_pause_ends_before_the_transaction_times_out(kafka, topic_factory):
    src, target = topic_factory(), Target()
    produce(kafka, src, [orjson.dumps({"n": i}) for i in range(100)])
    target.away.set()
    short = dataclasses.replace(kafka, client_options={"transaction.timeout.ms": 4000})
    # the sink would wait an hour; the transaction would not
    runner, thread = start(short, src, target, delivery="exactly-once", retry_for=3600.0)
    wait_for(lambda: runner.stats.paused_partitions == 1)
    paused_at = time.monotonic()
    thread.join(30)
    assert not thread.is_alive(), "the pause outlived the transaction"
    error = runner.error  # type: ignore[attr-defined]
    began = runner.checkpoint.transaction_began
    assert "stopping before the broker aborts the run's Kafka transaction" in str(error)
    assert "transaction.timeout.ms=4000" in str(error) and "\n" not in str(error)
    # it gave up inside the timeout, less the margin for the last flush and the commit
    assert time.monotonic() - paused_at < 4.0
    assert runner.checkpoint.transaction_timeout_ms == 4000 and began is not None
    assert runner.stats.commits == 0 and not target.rows


def test_the_transaction_timeout_covers_the_sinks_retry_for(kafka, topic_factory):
    src, target = topic_factory(), Target()
    produce(kafka, src, [orjson.dumps({"n": i}) for i in range(300)])
    runner, thread = start(kafka, src, target, delivery="exactly-once", retry_for=120.0)
    wait_for(lambda: len(target.rows) == 300)
    # a pause of 120 s starts at most a commit interval (0.1 s) after the transaction
    # began, and its last flush and commit get 2 x 10 s: the producer asks for 140.1 s
    assert runner.checkpoint.transaction_timeout_ms == 140_100
    # a short outage is still waited for, and the run goes on
    target.away.set()
    produce(kafka, src, [orjson.dumps({"n": i}) for i in range(300, 400)])
    wait_for(lambda: runner.stats.paused_partitions == 1)
    time.sleep(1.0)
    target.away.clear()
    wait_for(lambda: len(target.rows) == 400)
    runner.stop()
    thread.join(30)
    assert runner.error is None  # type: ignore[attr-defined]


def test_an_idle_run_renews_its_transaction(kafka, topic_factory):
    src, target = topic_factory(), Target()
    produce(kafka, src, [orjson.dumps({"n": i}) for i in range(50)])
    runner, thread = start(kafka, src, target, delivery="exactly-once")
    wait_for(lambda: len(target.rows) == 50)
    # the sink flushes before the offsets commit: wait for that commit, then go idle
    wait_for(lambda: runner.stats.commits >= 1)
    commits = runner.stats.commits
    ages = []
    for _ in range(10):  # idle: nothing to commit, but metrics go into the transaction
        time.sleep(0.3)
        ages.append(time.monotonic() - runner.checkpoint.transaction_began)
    assert runner.stats.commits == commits  # no progress: no progress commits
    runner.stop()
    thread.join(30)
    assert runner.error is None  # type: ignore[attr-defined]
    assert max(ages) < 1.0, ages  # renewed at every checkpoint (0.1 s), never aging
