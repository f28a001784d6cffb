"""The run loop: consume batches, push them through each partition's steps, commit.

Delivery and state, in order, at every commit (every ``commit_interval`` seconds, on
partition revocation and at the end of a run):

at-least-once
    1. flush the producer: every output and dead letter so far is acknowledged;
    2. write the snapshot of every partition that processed records, with the input
       offsets it reflects, to the state topic (flushed);
    3. commit those offsets to the consumer group.
    A crash between 1 and 2 repeats some outputs (each carries its ``sl-id`` header for
    idempotent sinks); between 2 and 3 nothing is repeated, because a restart resumes
    from the snapshot's offsets, not the group's. The model never learns a record twice.

exactly-once
    Outputs, dead letters, snapshots and offsets go in one Kafka transaction per commit;
    readers with ``isolation.level=read_committed`` see each output exactly once.

On partition assignment, each partition's newest snapshot is restored *before* its first
batch and the partition is positioned at the snapshot's offsets.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from streamlearn.core.batch import Batch, Origin
from streamlearn.core.errors import ConfigError, KafkaError
from streamlearn.core.pipeline import Chain, Pipeline
from streamlearn.io.admin import ensure_topics, partition_count
from streamlearn.io.kafka_config import KafkaConfig
from streamlearn.io.kafka_sink import ToKafka
from streamlearn.io.kafka_source import BatchReader, FromKafka
from streamlearn.runtime.align import Aligner
from streamlearn.runtime.context import KafkaContext, freeze_long_lived, release_long_lived
from streamlearn.runtime.options import RunOptions
from streamlearn.runtime.state_store import Snapshot, StateStore
from streamlearn.runtime.stats import RunStats

log = logging.getLogger("streamlearn.runtime")
Progress = Callable[[RunStats], None]


def resolve_kafka(kafka: KafkaConfig | str | None) -> KafkaConfig:
    if isinstance(kafka, KafkaConfig):
        return kafka
    if isinstance(kafka, str) and kafka:
        return KafkaConfig(bootstrap_servers=kafka)
    raise ConfigError("no Kafka cluster given: pass kafka='host:port' or a KafkaConfig "
                      "(the CLI reads STREAMLEARN_BOOTSTRAP)")


class Runner:
    """Runs one pipeline in one process (one member of its consumer group)."""

    def __init__(self, pipeline: Pipeline, *, kafka: KafkaConfig | str | None = None,
                 options: RunOptions | None = None, on_progress: Progress | None = None,
                 progress_interval: float = 0.5) -> None:
        if not isinstance(pipeline.source, FromKafka):
            raise ConfigError("the pipeline must start with sl.read.from_kafka(...)")
        self.pipeline = pipeline
        self.source: FromKafka = pipeline.source
        self.options = options or RunOptions()
        self.kafka = resolve_kafka(self.source.kafka or kafka)
        self.group = self.source.group or self.options.name
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.stats = RunStats()
        self.chains: dict[int, Chain] = {}
        self.next_offsets: dict[tuple[str, int], int] = {}
        self.dirty: set[int] = set()
        self._stop = False
        self._drain = False
        self._retired_removed = 0
        pipeline.step_names()  # validates names before anything starts
        self.entries = pipeline.entry_points()
        self.sink_topics = {op.topic for op in pipeline.operators if isinstance(op, ToKafka)}
        self.topics = list(dict.fromkeys([*self.source.topics, *self.entries]))
        # events and their labels (or any co-partitioned inputs): align by timestamp
        self.aligner = Aligner(self.topics, first=list(self.entries)) \
            if len(self.topics) > 1 else None
        self.paused: set[tuple[str, int]] = set()

    # -- set-up -----------------------------------------------------------------------
    def _prepare_topics(self) -> None:
        opts = self.options
        counts = {t: partition_count(self.kafka, t) for t in self.topics}
        missing = [t for t, n in counts.items() if n is None]
        if missing:
            raise ConfigError(f"input topic(s) {missing} do not exist")
        if len(set(counts.values())) > 1:
            raise ConfigError(
                f"input topics must be co-partitioned (same partition count, keyed alike), "
                f"got {counts}: partition p of each topic is processed together")
        parts = next(iter(counts.values()))
        wanted: dict[str, int] = {opts.dead_letter_topic: 1}  # type: ignore[dict-item]
        for op in self.pipeline.operators:
            if isinstance(op, ToKafka):
                wanted[op.topic] = op.partitions or parts  # type: ignore[assignment]
            for out in op.outputs():  # e.g. a learner's metrics
                wanted.setdefault(out.topic, out.partitions or 1)
        ensure_topics(self.kafka, {t: n for t, n in wanted.items()
                                   if partition_count(self.kafka, t) is None})
        if self.pipeline.stateful and partition_count(self.kafka, opts.state_topic) is None:
            ensure_topics(self.kafka, {opts.state_topic: 1},  # type: ignore[dict-item]
                          config_overrides={"cleanup.policy": "compact"})

    def _make_clients(self) -> None:
        opts = self.options
        cconf: dict[str, Any] = {"auto.offset.reset": self.source.start,
                                 "partition.assignment.strategy": "range",
                                 # the aligner needs to know when an input is caught up
                                 "enable.partition.eof": self.aligner is not None}
        pconf: dict[str, Any] = {"delivery.report.only.error": True,
                                 "message.max.bytes": 64 * 2**20,
                                 "on_delivery": self._on_delivery,
                                 "queue.buffering.max.messages": 1_000_000}
        if opts.exactly_once:
            cconf["isolation.level"] = "read_committed"
            pconf["transactional.id"] = opts.transactional_id or f"{opts.name}-0"
        self.consumer = Consumer(self.kafka.consumer_config(self.group, **cconf))
        self.producer = Producer(self.kafka.producer_config(**pconf))
        self.state = StateStore(opts.state_topic, opts.name,  # type: ignore[arg-type]
                                self.kafka.consumer_config(self.group, **cconf))
        self.ctx = KafkaContext(self.producer, pipeline=opts.name,
                                dead_letter_topic=opts.dead_letter_topic)  # type: ignore[arg-type]
        self.reader = BatchReader(self.consumer, self.source, one_topic=len(self.topics) == 1)
        self._delivery_errors: list[str] = []
        if opts.exactly_once:
            self.producer.init_transactions(30)
            self.producer.begin_transaction()
        freeze_long_lived()  # the clients, modules and pipeline live as long as the run

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._delivery_errors.append(f"{msg.topic()}: {err}")

    # -- rebalancing ------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = {tp.partition for tp in partitions}
        snaps = self.state.load(numbers) if self.pipeline.stateful else {}
        for p in numbers:
            chain = self.pipeline.build()
            snap = snaps.get(p)
            if snap is not None:
                chain.restore(snap.steps)
                self.stats.restored_partitions.append(p)
            self.chains[p] = chain
        for tp in partitions:
            snap = snaps.get(tp.partition)
            if snap is not None and (tp.topic, tp.partition) in snap.offsets:
                tp.offset = snap.offsets[(tp.topic, tp.partition)]
                self.next_offsets[(tp.topic, tp.partition)] = tp.offset
        self.stats.partitions = sorted(self.chains)
        consumer.assign(partitions)
        log.info("assigned %s (restored %s)", sorted(numbers), sorted(snaps))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = {tp.partition for tp in partitions}
        with contextlib.suppress(Exception):
            self._commit(force=True)
        if self.aligner is not None:  # held records were never processed: not committed
            self.aligner.forget(numbers)
            self.paused = {k for k in self.paused if k[1] not in numbers}
        for p in numbers:
            self._retire(p)
        for key in [k for k in self.next_offsets if k[1] in numbers]:
            del self.next_offsets[key]
        self.stats.partitions = sorted(self.chains)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # another member owns them now: drop local state without committing
        if self.aligner is not None:
            self.aligner.forget({tp.partition for tp in partitions})
        for tp in partitions:
            self._retire(tp.partition)
            self.next_offsets.pop((tp.topic, tp.partition), None)

    # -- the loop ---------------------------------------------------------------------
    def stop(self, *, drain: bool = False) -> None:
        """Ask the loop to finish (from a signal handler or another thread)."""
        self._drain = drain
        self._stop = True

    def run(self) -> RunStats:
        self._prepare_topics()
        self._make_clients()
        opts = self.options
        self.consumer.subscribe(list(self.topics), on_assign=self._on_assign,
                                on_revoke=self._on_revoke, on_lost=self._on_lost)
        stats = self.stats
        stats.started_at = time.monotonic()
        last_commit = last_tick = last_progress = last_input = time.monotonic()
        rate_mark = (time.monotonic(), 0, 0)
        try:
            while not self._stop:
                remaining = None
                if opts.max_records is not None:
                    held = self.aligner.held if self.aligner is not None else 0
                    remaining = opts.max_records - stats.records_in - held
                    if remaining <= 0:
                        self.stop(drain=True)
                        break
                read = self.reader.read(remaining)
                groups = self._align(read) if self.aligner is not None else read
                now = time.monotonic()
                if read:
                    last_input = now
                if groups:
                    if stats.first_record_at is None:
                        stats.first_record_at = now
                    self._process(groups)
                    stats.last_batch_ms = (time.monotonic() - now) * 1000
                elif not self.chains:
                    last_input = now  # waiting for an assignment is not being idle
                elif opts.idle_timeout is not None and now - last_input >= opts.idle_timeout:
                    self.stop(drain=True)
                    break
                if now - last_tick >= opts.tick_interval:
                    last_tick = now
                    for chain in self.chains.values():
                        chain.tick(self.ctx)
                if now - last_commit >= opts.commit_interval:
                    last_commit = now
                    self._commit()
                if now - last_progress >= self.progress_interval:
                    last_progress = now
                    rate_mark = self._progress(rate_mark)
            if self._drain:
                if self.aligner is not None:
                    self._process(self.aligner.release(everything=True))
                for p, chain in self.chains.items():
                    chain.flush(self.ctx)
                    self.dirty.add(p)
            self._commit(force=True)
            self._progress(rate_mark)
        finally:
            self._close()
        return stats

    def _align(self, read: list[tuple[str, int, list[Any]]]
               ) -> list[tuple[str, int, list[Any]]]:
        """Co-partitioned inputs in timestamp order (see :mod:`streamlearn.runtime.align`);
        a topic partition that ran too far ahead is paused until the others catch up."""
        aligner = self.aligner
        for topic, partition in self.reader.take_ends():
            aligner.end_of_partition(topic, partition)  # type: ignore[union-attr]
        aligner.add(read)  # type: ignore[union-attr]
        # a read that found nothing: every input is as far as it goes for now
        groups = aligner.release(everything=not read)  # type: ignore[union-attr]
        ahead = set(aligner.ahead())  # type: ignore[union-attr]
        with contextlib.suppress(KafkaException):
            if ahead - self.paused:
                self.consumer.pause([TopicPartition(t, p) for t, p in ahead - self.paused])
            if self.paused - ahead:
                self.consumer.resume([TopicPartition(t, p) for t, p in self.paused - ahead])
            self.paused = ahead
        return groups

    def _process(self, groups: list[tuple[str, int, list[Any]]]) -> None:
        stats = self.stats
        for topic, partition, msgs in groups:
            chain = self.chains.get(partition)
            if chain is None:  # not ours any more (revoked during the fetch)
                continue
            origin = Origin.from_messages(topic, partition, msgs)
            n = len(msgs)
            batch = Batch(pl.DataFrame(height=n), origin, np.arange(n, dtype=np.int64))
            if topic in self.entries:  # a side input: its decoders, then its step
                chain.push_side(topic, batch, self.ctx)
            else:
                chain.push(batch, self.ctx)
            self.next_offsets[(topic, partition)] = int(origin.offsets[-1]) + 1
            self.dirty.add(partition)
            stats.records_in += n
            stats.batches += 1
            stats.max_batch_rows = max(stats.max_batch_rows, n)

    def _resume_offsets(self, partition: int) -> dict[tuple[str, int], int]:
        """Where partition ``partition`` resumes: after the last record processed, or at
        the oldest record still held in a buffer (it is read again after a restart)."""
        chain = self.chains.get(partition)
        held = chain.oldest_held() if chain is not None else {}
        return {k: min(o, held.get(k, o)) for k, o in self.next_offsets.items()
                if k[1] == partition}

    def _commit(self, force: bool = False) -> None:
        if not self.dirty and not force:
            return
        opts = self.options
        if not opts.exactly_once:
            self._flush_outputs()
        resume = {p: self._resume_offsets(p) for p in self.dirty}
        if self.pipeline.stateful:
            for p in sorted(self.dirty):
                chain = self.chains.get(p)
                if chain is not None:
                    self.state.save(self.producer, p, Snapshot(chain.snapshot(), resume[p]))
        offsets = [TopicPartition(t, tp, o) for p in resume for (t, tp), o in resume[p].items()]
        try:
            if opts.exactly_once:
                if offsets:
                    self.producer.send_offsets_to_transaction(
                        offsets, self.consumer.consumer_group_metadata(), 30)
                self.producer.commit_transaction(60)
                self._check_delivery()
                self.producer.begin_transaction()
            elif offsets:
                self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            raise KafkaError(f"commit failed: {exc}") from exc
        self.dirty.clear()
        self.stats.commits += 1
        self._update_counts()

    def _flush_outputs(self) -> None:
        left = self.producer.flush(60)
        if left:
            raise KafkaError(f"{left} records not delivered within 60 s")
        self._check_delivery()

    def _check_delivery(self) -> None:
        if self._delivery_errors:
            errors, self._delivery_errors = self._delivery_errors, []
            raise KafkaError(f"{len(errors)} records failed delivery, e.g. {errors[0]}")

    def _update_counts(self) -> None:
        stats, ctx = self.stats, self.ctx
        # sink records only: side streams (a learner's metrics) are not pipeline output
        stats.records_out = sum(n for t, n in ctx.produced.items() if t in self.sink_topics)
        stats.dead_lettered = ctx.dead_count
        removed = sum(c.rows_removed for c in self.chains.values()) + self._retired_removed
        held = sum(c.rows_held for c in self.chains.values())
        stats.records_buffered = held
        stats.records_filtered = removed - held - ctx.dead_count

    def _retire(self, partition: int) -> None:
        """Forget a partition's chain, keeping its counts (its state is in the state topic)."""
        chain = self.chains.pop(partition, None)
        if chain is not None:
            self._retired_removed += chain.rows_removed - chain.rows_held
        self.dirty.discard(partition)

    def _progress(self, mark: tuple[float, int, int]) -> tuple[float, int, int]:
        now = time.monotonic()
        self._update_counts()
        stats = self.stats
        t0, in0, out0 = mark
        dt = max(now - t0, 1e-9)
        stats.in_rate = (stats.records_in - in0) / dt
        stats.out_rate = (stats.records_out - out0) / dt
        stats.elapsed_s = now - stats.started_at
        stats.metrics = dict(self.ctx.metrics)
        if self.on_progress is not None:
            self.on_progress(stats)
        return now, stats.records_in, stats.records_out

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            if self.options.exactly_once:
                self.producer.abort_transaction(10)
        with contextlib.suppress(Exception):
            self.producer.flush(10)
        with contextlib.suppress(Exception):
            self.consumer.close()
        release_long_lived()


def run(pipeline: Pipeline, *, kafka: KafkaConfig | str | None = None,
        options: RunOptions | None = None, on_progress: Progress | None = None,
        **option_overrides: Any) -> RunStats:
    """Run a pipeline on Kafka until it is stopped (or a limit in the options is reached).

    Examples
    --------
    ::

        import streamlearn as sl
        stats = sl.run(
            sl.read.from_kafka("trades") | sl.decode.json({"bid": "float", "ask": "float"})
            | sl.ml.sequential_k_means(["bid", "ask"], k=3, buffer_size=1000)
            | sl.sql("select * from $1 where cluster = 0") | sl.write.to_kafka("cluster0"),
            kafka="127.0.0.1:9092", name="s1", max_records=50_000)
    """
    if options is None:
        options = RunOptions(**option_overrides)
    elif option_overrides:
        raise ConfigError("pass either options= or keyword settings, not both")
    return Runner(pipeline, kafka=kafka, options=options, on_progress=on_progress).run()
