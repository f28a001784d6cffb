"""Pausing the input while a sink's database is away, and resuming when it is back.

A sink's flush runs at the checkpoint, before any offset is committed. When its target is
away (connection refused, server restarting) the flush raises
:class:`~streamlearn.core.errors.SinkUnavailable` after one attempt and keeps its rows.
Waiting inside the flush would block the loop: past ``max.poll.interval.ms`` (5 min by
default, often less) the group evicts the member and rebalances, and another member meets
the same database. Instead the runner hands the error to :class:`Backpressure`, which

1. pauses every partition the consumer owns (``Consumer.pause``): nothing new is read or
   processed, so the sinks' buffers and the open transaction stop growing;
2. keeps the consumer alive: the loop goes on calling ``consume`` (which is what the
   group's ``max.poll.interval.ms`` watches), but with its partitions paused nothing
   comes back. librdkafka drops the records it had prefetched for a paused partition and
   fetches them again from the application's position after ``resume``, so none is lost
   or skipped; a record that still comes back is sought back to;
3. tries the checkpoint again with back-off (0.1 s doubling to 5 s, jittered), logging
   one line per retry (``postgres table 'readings' at 127.0.0.1:5432 away (connection
   refused): paused 3 partitions, retrying in 2.0 s``) and showing it in the run's
   statistics and metrics (``paused_partitions``, ``sink_pauses``, ``paused_s``,
   ``sink_away``);
4. resumes the partitions once the checkpoint succeeded (the rows written, then the
   offsets committed, in that order as always: a Kafka output of the same batch is
   committed only after the sink wrote, in the same exactly-once transaction).

Offsets are committed only by a checkpoint whose flushes all succeeded, so a crash while
paused reads the unwritten rows again. When the database stays away longer than the
sink's ``retry_for``, the run stops with one line naming it. An error that is not worth
retrying (a column type the table does not take) is not a ``SinkUnavailable`` and stops
the run at once.

Exactly-once: the pause holds the Kafka transaction open (it has the outputs, dead
letters and metrics of the batches since the last commit). A broker aborts a transaction
older than the producer's ``transaction.timeout.ms`` (librdkafka's default: 60 s), and the
run would then die on its next commit. So the pause cannot outlive it, by construction:

- the runner asks for a transaction timeout that covers the longest ``retry_for`` of the
  pipeline's sinks plus a commit interval and a margin (:func:`transaction_timeout_ms`),
  never below librdkafka's 60 s nor above Apache Kafka's default broker cap,
  ``transaction.max.timeout.ms`` = 15 min (a producer asking for more is refused). A
  ``transaction.timeout.ms`` given in the Kafka settings (``-X``) is kept as it is;
- a pause that would still be waiting when the transaction is that old (less a margin
  for the last flush and the commit: :func:`transaction_margin`) ends with one line
  saying so, before the broker aborts anything: nothing was committed, the rows are read
  again on restart. To pause longer, raise the broker's ``transaction.max.timeout.ms``
  and pass a larger ``transaction.timeout.ms``.

Examples
--------
>>> from streamlearn.runtime.stats import RunStats
>>> from streamlearn.core.errors import SinkUnavailable
>>> class Consumer:  # the two calls Backpressure makes besides consume
...     def assignment(self): return [TopicPartition("t", 0), TopicPartition("t", 1)]
...     def pause(self, tps): print("pause", sorted(tp.partition for tp in tps))
...     def resume(self, tps): print("resume", sorted(tp.partition for tp in tps))
>>> stats = RunStats()
>>> bp = Backpressure(Consumer(), stats, clock=lambda: 100.0)
>>> bp.away(SinkUnavailable("connection refused", target="db", retry_for=60))
pause [0, 1]
>>> stats.paused_partitions, stats.sink_pauses, stats.sink_away
(2, 1, 'db unavailable: connection refused')
>>> bp.back()
resume [0, 1]
>>> stats.paused_partitions, bp.active
(0, False)
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import fields, is_dataclass
from typing import TYPE_CHECKING, Any, Protocol

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from streamlearn.core.backoff import Backoff, gave_up
from streamlearn.core.errors import OperatorError, SinkUnavailable
from streamlearn.core.operator import Operator
from streamlearn.core.pipeline import Pipeline
from streamlearn.runtime.stats import RunStats

if TYPE_CHECKING:
    from confluent_kafka import Consumer

    from streamlearn.kafka.reader import BatchReader

log = logging.getLogger("streamlearn.runtime")

#: librdkafka's default ``transaction.timeout.ms``
DEFAULT_TRANSACTION_MS = 60_000
#: Apache Kafka's default ``transaction.max.timeout.ms`` (a broker setting, 15 min): a
#: producer asking for a longer transaction timeout fails ``init_transactions``
BROKER_MAX_TRANSACTION_MS = 900_000


def transaction_margin(timeout_s: float) -> float:
    """Seconds a pause leaves before the transaction's timeout, for the last flush,
    ``send_offsets_to_transaction`` and the commit (10 s, less for short timeouts).

    >>> transaction_margin(81.0), transaction_margin(4.0)
    (10.0, 0.8)
    """
    return min(10.0, timeout_s / 5)


def _operators(ops: Any) -> Iterator[Any]:
    """Operators and what they wrap (a sink inside a wrapper, a side input's pipeline)."""
    for op in ops:
        yield op
        if is_dataclass(op):
            for f in fields(op):
                inner = getattr(op, f.name, None)
                if isinstance(inner, Operator):
                    yield from _operators([inner])
                elif isinstance(inner, Pipeline):
                    yield from _operators(inner.operators)


def transaction_timeout_ms(pipeline: Pipeline, commit_interval: float, kafka: Any) -> int:
    """The ``transaction.timeout.ms`` an exactly-once run's producer asks for: the
    longest ``retry_for`` of the pipeline's sinks + a commit interval + twice the margin,
    at least librdkafka's default and at most the broker's default cap; the setting's
    own value when the Kafka settings (a :class:`~streamlearn.kafka.config.KafkaConfig`)
    give one.

    >>> import streamlearn as sl
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> kafka = KafkaConfig(bootstrap_servers="127.0.0.1:9092")
    >>> pg = sl.write.to_postgres("t", retry_for=120)
    >>> transaction_timeout_ms(sl.map(lambda df: df) | pg, 1.0, kafka)
    141000
    >>> hour = sl.write.to_postgres("t", retry_for=3600)  # capped: the broker's default
    >>> transaction_timeout_ms(sl.map(lambda df: df) | hour, 1.0, kafka)
    900000
    >>> mine = KafkaConfig(bootstrap_servers="x:9092",
    ...                    client_options={"transaction.timeout.ms": "5000"})
    >>> transaction_timeout_ms(sl.map(lambda df: df) | pg, 1.0, mine)
    5000
    """
    options: Mapping[str, Any] = getattr(kafka, "client_options", None) or {}
    given = options.get("transaction.timeout.ms")
    if given is not None:
        return int(given)
    waits = [
        float(r)
        for op in _operators(pipeline.operators)
        if isinstance(r := getattr(op, "retry_for", None), (int, float))
    ]
    if not waits:
        return DEFAULT_TRANSACTION_MS
    want = (max(waits) + commit_interval + 2 * transaction_margin(max(waits))) * 1000
    return int(min(BROKER_MAX_TRANSACTION_MS, max(DEFAULT_TRANSACTION_MS, want)))


class OpenTransaction(Protocol):
    """What a pause needs to know of the run's Kafka transaction (the checkpoint's)."""

    transaction_timeout_ms: int | None
    #: ``time.monotonic()`` when the open transaction began (None: no transaction)
    transaction_began: float | None


class Backpressure:
    """The pause of one runner while a sink's target is away."""

    def __init__(
        self,
        consumer: Consumer,
        stats: RunStats,
        *,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        transaction: OpenTransaction | None = None,
    ) -> None:
        self.consumer = consumer
        self.transaction = transaction  # exactly-once: a pause ends before it times out
        self.stats = stats
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.error: SinkUnavailable | None = None
        self.since = 0.0
        self.retry_at = 0.0
        self.attempts = 0
        self.paused: set[tuple[str, int]] = set()
        self._past_s = 0.0  # seconds paused before the current pause

    @property
    def active(self) -> bool:
        """A sink's target is away and the input is paused."""
        return self.error is not None

    def due(self) -> bool:
        """Time to try the checkpoint again."""
        return self.clock() >= self.retry_at

    def away(self, exc: SinkUnavailable) -> None:
        """A checkpoint's flush failed with ``exc``: pause (first time) and schedule the
        next attempt; raises once the sink's ``retry_for`` has run out."""
        now = self.clock()
        if self.error is None:
            self.since, self.attempts = now, 0
            self.stats.sink_pauses += 1
        self.error = exc
        self.attempts += 1
        waited = now - self.since
        if waited >= exc.retry_for:
            self.back(resume=False)
            raise gave_up(exc, self.attempts, waited) from None
        limit = self._transaction_limit()
        if limit is not None and now >= limit:
            self.back(resume=False)
            raise self._outlived(exc, waited) from None
        self.hold()
        delay = min(self.backoff.next(), exc.retry_for - waited)
        if limit is not None:  # the last attempt at the limit, not after it
            delay = min(delay, limit - now)
        self.retry_at = now + delay
        n = len(self.paused)
        self.stats.sink_away = str(exc)
        log.warning(
            "%s away (%s): paused %d partition%s, retrying in %.1f s (attempt %d, away %.0f s)",
            exc.target,
            exc.reason,
            n,
            "" if n == 1 else "s",
            delay,
            self.attempts,
            waited,
        )

    def _transaction_limit(self) -> float | None:
        """When a pause must end so the open transaction commits before its timeout."""
        txn = self.transaction
        if txn is None or txn.transaction_began is None or not txn.transaction_timeout_ms:
            return None
        timeout_s = txn.transaction_timeout_ms / 1000
        return txn.transaction_began + timeout_s - transaction_margin(timeout_s)

    def _outlived(self, exc: SinkUnavailable, waited: float) -> OperatorError:
        ms = self.transaction.transaction_timeout_ms if self.transaction else None
        return OperatorError(
            f"{exc.target} still unavailable after {self.attempts} attempts over "
            f"{waited:.0f} s: {exc.reason}; stopping before the broker aborts the run's "
            f"Kafka transaction (transaction.timeout.ms={ms}, exactly-once); nothing was "
            f"committed, the rows are read again on restart (to wait longer, raise the "
            f"broker's transaction.max.timeout.ms and pass -X transaction.timeout.ms=...)",
            operator=exc.operator,
        )

    def hold(self) -> None:
        """Pause every partition owned now (new ones may come with a rebalance)."""
        owned = {(tp.topic, tp.partition) for tp in self.consumer.assignment()}
        new = owned - self.paused
        if new:
            with contextlib.suppress(KafkaException):
                self.consumer.pause([TopicPartition(t, p) for t, p in sorted(new)])
        self.paused = owned
        self.stats.paused_partitions = len(owned)
        self.stats.paused_s = self._past_s + self.clock() - self.since

    def checkpoint(self, commit: Callable[[], bool], *, keep: Collection[tuple[str, int]]) -> bool:
        """Run the checkpoint ``commit`` unless paused and not yet due; a
        :class:`SinkUnavailable` pauses, a success resumes (but ``keep``). True if it
        committed."""
        if self.error is not None and not self.due():
            return False
        try:
            done = commit()
        except SinkUnavailable as exc:
            self.away(exc)
            return False
        self.back(keep=keep)
        return done

    def keep_alive(self, reader: BatchReader) -> bool:
        """While paused: poll, so the group keeps this member, waiting at most until the
        next attempt, and return True (the loop reads nothing). A record that comes back
        anyway (fetched just before the pause) is not processed: its partition is sought
        back to it, to be read after the resume. Not paused: False at once."""
        if self.error is None:
            return False
        self.hold()
        wait = max(0.0, min(reader.spec.poll_timeout, self.retry_at - self.clock()))
        msgs = self.consumer.consume(num_messages=1000, timeout=wait)
        first: dict[tuple[str, int], int] = {}
        for m in msgs:
            err, where = m.error(), (str(m.topic()), int(m.partition() or 0))
            if err is None:
                first.setdefault(where, int(m.offset() or 0))
            elif err.code() == KafkaError._PARTITION_EOF:  # the aligner wants to know
                reader.ends.append(where)
        for (t, p), off in first.items():
            with contextlib.suppress(KafkaException):
                self.consumer.seek(TopicPartition(t, p, off))
        if first:
            log.debug("paused, %d records came back; sought back to %s", len(msgs), first)
        return True

    def back(self, *, keep: Collection[tuple[str, int]] = (), resume: bool = True) -> None:
        """The checkpoint succeeded: resume the paused partitions (but those in ``keep``,
        paused for another reason, e.g. an input too far ahead of the others)."""
        if self.error is None:
            return
        exc, self.error = self.error, None
        away = self.clock() - self.since
        self._past_s += away
        self.stats.paused_s = self._past_s
        if resume:
            again = sorted(self.paused - set(keep))
            if again:
                with contextlib.suppress(KafkaException):
                    self.consumer.resume([TopicPartition(t, p) for t, p in again])
            log.warning(
                "%s back after %.1f s: resumed %d partitions, nothing lost",
                exc.target,
                away,
                len(again),
            )
        self.paused = set()
        self.backoff.reset()
        self.stats.paused_partitions = 0
        self.stats.sink_away = ""


__all__ = [
    "BROKER_MAX_TRANSACTION_MS",
    "DEFAULT_TRANSACTION_MS",
    "Backpressure",
    "OpenTransaction",
    "transaction_margin",
    "transaction_timeout_ms",
]
