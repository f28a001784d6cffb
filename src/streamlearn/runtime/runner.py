"""The run loop: read batches, hand them to the partitions' tasks, checkpoint.

One :class:`Runner` is one member of the pipeline's consumer group. It works from the
pipeline's declarations alone: the source's topics and the operators' side inputs are
what it subscribes to, their declared output topics are what it provisions, and the
sinks they open are what the checkpoint flushes. The parts:

- :mod:`streamlearn.runtime.tasks`: the per-partition chains (build, restore, retire);
- :mod:`streamlearn.runtime.checkpoint`: the at-least-once and exactly-once commits;
- :mod:`streamlearn.runtime.align`: co-partitioned inputs handed over in timestamp order;
- :mod:`streamlearn.runtime.state_store`: partition snapshots on the state topic.

On partition assignment, each partition's newest snapshot is restored *before* its first
batch and the partition is positioned at the snapshot's offsets.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streamlearn.core.errors import ConfigError
from streamlearn.core.pipeline import Pipeline
from streamlearn.kafka.clients import make_consumer, make_producer
from streamlearn.kafka.config import KafkaConfig, resolve_kafka
from streamlearn.kafka.connect import check_reachable, log_assigned, log_joining
from streamlearn.kafka.produce import produce
from streamlearn.kafka.reader import BatchReader
from streamlearn.runtime.align import Aligner
from streamlearn.runtime.backpressure import Backpressure, transaction_timeout_ms
from streamlearn.runtime.broadcast import Broadcasts
from streamlearn.runtime.checkpoint import Checkpoint
from streamlearn.runtime.context import KafkaContext, freeze_long_lived, release_long_lived
from streamlearn.runtime.metrics import MetricsPublisher, serve_prometheus
from streamlearn.runtime.options import RunOptions
from streamlearn.runtime.state_store import StateStore
from streamlearn.runtime.stats import RunStats
from streamlearn.runtime.tasks import Group, Tasks
from streamlearn.runtime.topics import TopicSpec, provision

if TYPE_CHECKING:
    from streamlearn.read.kafka import FromKafka

log = logging.getLogger("streamlearn.runtime")
Progress = Callable[[RunStats], None]


class Runner:
    """Runs one pipeline in one process (one member of its consumer group)."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        kafka: KafkaConfig | str | None = None,
        options: RunOptions | None = None,
        on_progress: Progress | None = None,
        progress_interval: float = 0.5,
    ) -> None:
        if pipeline.source is None:
            raise ConfigError(
                "the pipeline must start with a source, e.g. sl.read.from_kafka('topic') | ..."
            )
        self.pipeline = pipeline
        self.source = cast("FromKafka", pipeline.source)
        self.options = options or RunOptions()
        self.kafka = resolve_kafka(self.source.kafka or kafka)
        self.group = self.source.group or self.options.name
        self.on_progress = on_progress
        self.progress_interval = progress_interval
        self.stats = RunStats()
        self.tasks = Tasks(pipeline, self.stats, reset_state=self.options.reset_state)
        self._stop = False
        self._drain = False
        broadcast: list[str] = []
        copartitioned: list[str] = []
        for side in pipeline.side_inputs():
            if side.mode not in ("copartitioned", "broadcast"):
                raise ConfigError(
                    f"side input {side.port!r}: mode must be 'copartitioned' "
                    f"or 'broadcast', not {side.mode!r}"
                )
            topics = side.pipeline.source.topics  # type: ignore[union-attr]
            (broadcast if side.mode == "broadcast" else copartitioned).extend(topics)
        # a broadcast topic several steps declare (one registry, two predict steps) is
        # read once and handed to each of them (Pipeline.routes)
        self.broadcast_topics = list(dict.fromkeys(broadcast))
        self.side_topics = copartitioned
        self.topics = list(dict.fromkeys([*self.source.topics, *self.side_topics]))
        self.broadcasts: Broadcasts | None = None
        # events and their labels (or any co-partitioned inputs): align by timestamp
        self.aligner = (
            Aligner(self.topics, first=self.side_topics) if len(self.topics) > 1 else None
        )
        self.paused: set[tuple[str, int]] = set()

    # -- set-up -----------------------------------------------------------------------
    def _prepare_topics(self) -> None:
        opts = self.options
        outputs = {opts.dead_letter_topic: TopicSpec(1), opts.metrics_topic: TopicSpec(1)}
        for out in self.pipeline.outputs():
            outputs.setdefault(out.topic, TopicSpec(out.partitions, out.config))
        self.provisioned = provision(
            self.kafka,
            inputs=self.topics,
            outputs=outputs,
            state_topic=opts.state_topic if self.pipeline.stateful else None,
        )
        broadcast = provision(self.kafka, inputs=self.broadcast_topics, co_partitioned=False)
        self._broadcast_partitions = broadcast.partitions

    def _make_clients(self) -> None:
        opts = self.options
        cconf: dict[str, Any] = {
            "auto.offset.reset": self.source.start,
            "partition.assignment.strategy": "range",
            # the aligner needs to know when an input is caught up
            "enable.partition.eof": self.aligner is not None,
        }
        pconf: dict[str, Any] = {
            "delivery.report.only.error": True,
            "message.max.bytes": 64 * 2**20,
            "on_delivery": self._on_delivery,
            "queue.buffering.max.messages": 1_000_000,
        }
        txn_ms = transaction_timeout_ms(self.pipeline, opts.commit_interval, self.kafka)
        if opts.exactly_once:
            cconf["isolation.level"] = "read_committed"
            pconf["transactional.id"] = opts.transactional_id
            pconf["transaction.timeout.ms"] = txn_ms  # a pause ends before (backpressure.py)
        self.consumer = make_consumer(self.kafka, self.group, on_commit=self._on_commit, **cconf)
        self.producer = make_producer(self.kafka, **pconf)
        self.state = (
            StateStore(opts.state_topic, opts.name, self.kafka.consumer_config(self.group, **cconf))
            if self.pipeline.stateful
            else None
        )
        self.ctx = KafkaContext(
            self.producer, pipeline=opts.name, dead_letter_topic=opts.dead_letter_topic
        )
        self.ctx.stats = self.stats
        self.reader = BatchReader(self.consumer, self.source, one_topic=len(self.topics) == 1)
        self.checkpoint = Checkpoint(
            self.tasks,
            self.ctx,
            self.consumer,
            self.producer,
            self.state,
            exactly_once=opts.exactly_once,
            transaction_timeout_ms=txn_ms,
        )
        self.backpressure = Backpressure(self.consumer, self.stats, transaction=self.checkpoint)
        self.publisher = MetricsPublisher(
            lambda key, value: produce(self.producer, opts.metrics_topic, value, key),
            pipeline=opts.name,
            interval=opts.metrics_interval,
        )
        self._prometheus = (
            serve_prometheus(
                opts.metrics_port, lambda: (self.stats, self.ctx.metrics), pipeline=opts.name
            )
            if opts.metrics_port
            else None
        )
        if self.broadcast_topics:
            self.broadcasts = Broadcasts(
                self.kafka, self.broadcast_topics, self._broadcast_partitions
            )
            self.broadcasts.catch_up()
        freeze_long_lived()  # the clients, modules and pipeline live as long as the run

    def _on_delivery(self, err: Any, msg: Any) -> None:
        self.checkpoint.on_delivery(err, msg)

    def _on_commit(self, err: Any, partitions: list[TopicPartition]) -> None:
        self.checkpoint.on_commit(err, partitions)

    # -- rebalancing ------------------------------------------------------------------
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = {tp.partition for tp in partitions}
        snaps = self.state.load(numbers) if self.state is not None else {}
        history = self.broadcasts.history if self.broadcasts is not None else []
        self.tasks.assign(numbers, snaps, self.ctx, history)
        for tp in partitions:
            snap = snaps.get(tp.partition)
            if snap is not None and (tp.topic, tp.partition) in snap.offsets:
                tp.offset = snap.offsets[(tp.topic, tp.partition)]
                self.tasks.next_offsets[(tp.topic, tp.partition)] = tp.offset
        consumer.assign(partitions)
        self.stats.assignments += 1
        log_assigned(self.group, [(tp.topic, tp.partition) for tp in partitions])
        log.info("restored %s", sorted(snaps))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = {tp.partition for tp in partitions}
        with contextlib.suppress(Exception):
            self.checkpoint.commit(force=True)
        self._forget(numbers)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # another member owns them now: drop local state without committing
        self._forget({tp.partition for tp in partitions})

    def _forget(self, numbers: set[int]) -> None:
        if self.aligner is not None:  # held records were never processed: not committed
            self.aligner.forget(numbers)
            self.paused = {k for k in self.paused if k[1] not in numbers}
        for p in numbers:
            self.tasks.retire(p)

    # -- the loop ---------------------------------------------------------------------
    def stop(self, *, drain: bool = False) -> None:
        """Ask the loop to finish (from a signal handler or another thread)."""
        self._drain = drain
        self._stop = True

    def run(self) -> RunStats:
        check_reachable(self.kafka)
        self._prepare_topics()
        self._make_clients()
        opts, tasks, ctx = self.options, self.tasks, self.ctx
        log_joining(self.group, self.topics)
        self.consumer.subscribe(
            list(self.topics),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
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
                if self.broadcasts is not None:  # changes take effect between batches
                    tasks.broadcast(self.broadcasts.poll(), ctx)
                paused = self.backpressure.keep_alive(self.reader)  # a sink's database away
                read = [] if paused else self.reader.read(remaining)
                groups = read if paused or self.aligner is None else self._align(self.aligner, read)
                now = time.monotonic()
                if read or paused:
                    last_input = now
                if groups:
                    if stats.first_record_at is None:
                        stats.first_record_at = now
                    tasks.process(groups, ctx)
                    stats.last_batch_ms = (time.monotonic() - now) * 1000
                elif not tasks.chains:
                    last_input = now  # waiting for an assignment is not being idle
                elif opts.idle_timeout is not None and now - last_input >= opts.idle_timeout:
                    self.stop(drain=True)
                    break
                if now - last_tick >= opts.tick_interval:
                    last_tick = now
                    tasks.tick(ctx)
                if now - last_commit >= opts.commit_interval:
                    last_commit = now
                    self._commit()
                if now - last_progress >= self.progress_interval:
                    last_progress = now
                    rate_mark = self._progress(rate_mark)
                self.publisher.maybe_publish(now, stats, ctx.metrics, self._lag)
            if self._drain:
                if self.aligner is not None:
                    tasks.process(self.aligner.release(everything=True), ctx)
                tasks.drain(ctx)
            self._progress(rate_mark)
            self.publisher.maybe_publish(
                time.monotonic(), stats, ctx.metrics, self._lag, force=True
            )
            self._commit(force=True)
            while self.backpressure.keep_alive(self.reader):  # wait for the database
                self._commit(force=True)
        finally:
            self._close()
        return stats

    def _commit(self, force: bool = False) -> None:
        bp = self.backpressure  # while paused: every due attempt flushes, nothing else
        commit = self.checkpoint.commit
        if bp.checkpoint(lambda: commit(force=force or bp.active), keep=self.paused):
            self.stats.commits = self.checkpoint.commits
        self._update_counts()

    def _align(self, aligner: Aligner, read: list[Group]) -> list[Group]:
        """Co-partitioned inputs in timestamp order (see :mod:`streamlearn.runtime.align`);
        a topic partition that ran too far ahead is paused until the others catch up."""
        for topic, partition in self.reader.take_ends():
            aligner.end_of_partition(topic, partition)
        aligner.add(read)
        # a read that found nothing: every input is as far as it goes for now
        groups = aligner.release(everything=not read)
        ahead = set(aligner.ahead())
        with contextlib.suppress(KafkaException):
            if ahead - self.paused:
                self.consumer.pause([TopicPartition(t, p) for t, p in ahead - self.paused])
            if self.paused - ahead:
                self.consumer.resume([TopicPartition(t, p) for t, p in self.paused - ahead])
            self.paused = ahead
        return groups

    def _lag(self) -> dict[str, int]:
        """Records behind the log end per input ``topic[partition]``, from the consumer's
        cached watermarks (no broker call). On Tansu the high watermark is wrong (the
        first offset of the last record batch + 1), so this under-reports there."""
        lag = {}
        for (topic, part), nxt in list(self.tasks.next_offsets.items()):
            with contextlib.suppress(KafkaException):
                _, high = self.consumer.get_watermark_offsets(
                    TopicPartition(topic, part), cached=True
                )
                if high >= 0:
                    lag[f"{topic}[{part}]"] = max(0, high - nxt)
        self.stats.lag = lag  # (for Prometheus)
        return lag

    def _update_counts(self) -> None:
        stats, ctx, tasks = self.stats, self.ctx, self.tasks
        # rows handed to sinks only: side streams (a learner's metrics) are not output
        stats.records_out = ctx.rows_written
        stats.dead_lettered = ctx.dead_count
        held = tasks.rows_held
        stats.records_buffered = held
        stats.records_filtered = tasks.rows_removed - held - ctx.dead_count

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
            self.checkpoint.abort()
        with contextlib.suppress(Exception):
            self.producer.flush(10)
        with contextlib.suppress(Exception):
            self.ctx.close_sinks()
        owned = list(self.stats.partitions)  # leaving the group retires them: report them
        with contextlib.suppress(Exception):
            self.consumer.close()
        self.stats.partitions = owned
        if self.broadcasts is not None:
            self.broadcasts.close()
        prometheus = getattr(self, "_prometheus", None)
        if prometheus is not None:
            prometheus.shutdown()
        release_long_lived()


def run(
    pipeline: Pipeline,
    *,
    kafka: KafkaConfig | str | None = None,
    options: RunOptions | None = None,
    on_progress: Progress | None = None,
    **option_overrides: Any,
) -> RunStats:
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
