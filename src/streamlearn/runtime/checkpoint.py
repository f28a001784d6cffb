"""The checkpoint: the commit protocols that make outputs, state and offsets agree.

At every checkpoint (every ``commit_interval`` seconds, on partition revocation and at
the end of a run), for the partitions that changed since the last one:

at-least-once
    1. flush every sink (``Sink.flush``) and the run's producer: every output and dead
       letter so far is durable;
    2. write the snapshot of every changed partition, with the input offsets it
       reflects, to the state topic (flushed);
    3. commit those offsets to the consumer group.
    A crash between 1 and 2 repeats some outputs (each carries its ``sl-id`` for
    idempotent targets); between 2 and 3 nothing is repeated, because a restart resumes
    from the snapshot's offsets, not the group's. The model never learns a record twice.

    The timed checkpoints send step 3 asynchronously: the offsets are those of outputs
    already delivered in step 1, so waiting for the group coordinator's answer protects
    nothing and only stopped the loop (a round trip, 7 ms p50 / 35 ms p99 of stall in
    the latency benchmark). A failed asynchronous commit marks its partitions dirty
    again (the next checkpoint commits them); the commits on revocation and at the end
    of a run (``force``) wait for the answer, so no member hands a partition over with
    an older offset still in flight.

exactly-once
    Sinks are flushed first (a non-Kafka sink must be idempotent by ``sl-id``), then
    Kafka outputs, dead letters, snapshots and offsets go in one Kafka transaction;
    readers with ``isolation.level=read_committed`` see each output exactly once.
    A checkpoint with no progress to commit still commits the transaction: the metrics
    feed writes into it every second, and an idle run's transaction would otherwise
    reach ``transaction.timeout.ms`` and be aborted by the broker (an empty one costs
    nothing: librdkafka sends no EndTxn for it). So no transaction is older than a
    commit interval when a checkpoint starts, but while a pause holds it open
    (``transaction_began``, what the pause measures itself against:
    :mod:`streamlearn.runtime.backpressure`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from streamlearn.core.errors import KafkaError
from streamlearn.runtime.context import KafkaContext
from streamlearn.runtime.state_store import Snapshot, StateStore
from streamlearn.runtime.tasks import Tasks

log = logging.getLogger("streamlearn.runtime")


class Checkpoint:
    """Commits the progress of :class:`~streamlearn.runtime.tasks.Tasks`."""

    def __init__(
        self,
        tasks: Tasks,
        ctx: KafkaContext,
        consumer: Consumer,
        producer: Producer,
        state: StateStore | None,
        *,
        exactly_once: bool,
        transaction_timeout_ms: int | None = None,
    ) -> None:
        self.tasks = tasks
        self.ctx = ctx
        self.consumer = consumer
        self.producer = producer
        self.state = state
        self.exactly_once = exactly_once
        self.commits = 0
        self.commit_failures = 0
        self._delivery_errors: list[str] = []
        #: exactly-once: the producer's ``transaction.timeout.ms``, and when the open
        #: transaction began (``time.monotonic()``)
        self.transaction_timeout_ms = transaction_timeout_ms if exactly_once else None
        self.transaction_began: float | None = None
        if exactly_once:
            producer.init_transactions(30)
            self._begin()

    def _begin(self) -> None:
        self.producer.begin_transaction()
        self.transaction_began = time.monotonic()

    def on_delivery(self, err: Any, msg: Any) -> None:
        """The producer's delivery callback: failures stop the next commit."""
        if err is not None:
            self._delivery_errors.append(f"{msg.topic()}: {err}")

    def on_commit(self, err: Any, partitions: list[TopicPartition]) -> None:
        """The consumer's commit callback (served by ``consume()`` on the loop's thread):
        the partitions of a failed commit are dirty again, so the next checkpoint commits
        their offsets (then newer ones) instead of leaving the group's offset behind."""
        failed = {tp.partition for tp in partitions or () if tp.error is not None}
        if err is not None:
            failed.update(tp.partition for tp in partitions or ())
        failed &= set(self.tasks.chains)  # revoked meanwhile: the new owner commits
        if failed:
            self.commit_failures += 1
            self.tasks.dirty.update(failed)
            log.warning("offset commit failed (%s); retried at the next checkpoint", err)

    def commit(self, *, force: bool = False) -> bool:
        """Make the changed partitions' progress durable; False if nothing changed."""
        tasks = self.tasks
        if not tasks.dirty and not force:
            if self.exactly_once:  # metrics may be in it: it must not age
                self._commit_transaction([])
            return False
        self.ctx.flush_sinks()
        if not self.exactly_once:
            self._flush_producer()
        resume = {p: tasks.resume_offsets(p) for p in tasks.dirty}
        if self.state is not None:
            saved = False
            for p in sorted(tasks.dirty):
                chain = tasks.chains.get(p)
                if chain is not None:
                    snap = Snapshot(chain.snapshot(), resume[p])
                    self.state.save(self.producer, p, snap, flush=False)
                    saved = True
            # one round trip for every partition's snapshot (not one each); a transaction
            # delivers them at its commit
            if saved and not self.exactly_once:
                self.state.flush(self.producer)
        offsets = [TopicPartition(t, tp, o) for p in resume for (t, tp), o in resume[p].items()]
        try:
            if self.exactly_once:
                self._commit_transaction(offsets)
            elif offsets and force:
                self.consumer.commit(offsets=offsets, asynchronous=False)
            elif offsets:  # of delivered outputs only (flushed above): no need to wait
                self.consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            raise KafkaError(f"commit failed: {exc}") from exc
        tasks.dirty.clear()
        self.commits += 1
        return True

    def _commit_transaction(self, offsets: list[TopicPartition]) -> None:
        try:
            if offsets:
                self.producer.send_offsets_to_transaction(
                    offsets, self.consumer.consumer_group_metadata(), 30
                )
            self.producer.commit_transaction(60)
        except KafkaException as exc:
            raise KafkaError(f"commit failed: {exc}") from exc
        self._check_delivery()
        self._begin()

    def abort(self) -> None:
        """End of a run that could not commit: an open transaction is aborted."""
        if self.exactly_once:
            self.producer.abort_transaction(10)

    def _flush_producer(self) -> None:
        left = self.producer.flush(60)
        if left:
            raise KafkaError(f"{left} records not delivered within 60 s")
        self._check_delivery()

    def _check_delivery(self) -> None:
        if self._delivery_errors:
            errors, self._delivery_errors = self._delivery_errors, []
            raise KafkaError(f"{len(errors)} records failed delivery, e.g. {errors[0]}")
