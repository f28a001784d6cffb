"""The read loops of a dataset: bounded (assign + seek, no group) and group (commit as it goes).

Both drain librdkafka's queue in large batches, split them by partition
(:func:`~streamlearn.kafka.reader.split_by_partition`), wrap each run of records as the
runtime does (:func:`~streamlearn.kafka.records.batch_from_messages`) and push it through
that partition's chain of the dataset's operators (the decoder, then whatever
``ds.pipe`` added): the stream's own code, one vectorised pass per batch.

A bounded read ends each partition at its end offset, or at its end-of-partition event
when the log ends first (a gap of compacted or transaction-marker offsets, an end past
the log end); it commits nothing, so the next epoch reads the same records. A group read
commits the offsets of a batch once the caller has taken its rows (asks for the next),
so a record is committed only after it was used.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import KafkaError
from streamlearn.core.operator import Context
from streamlearn.core.pipeline import Chain, Pipeline
from streamlearn.datasets.report import ReadReport
from streamlearn.datasets.slice import DatasetSlice

log = logging.getLogger("streamlearn.datasets")

#: a fixed group id for bounded reads: librdkafka wants one, but assign() joins no group
#: and nothing is ever committed under it
BOUNDED_GROUP = "streamlearn-dataset"
META = ("_partition", "_offset", "_timestamp")


@dataclass(frozen=True)
class ReadOptions:
    """How a dataset reads (its constructor's settings, passed to the loops)."""

    pipeline: Pipeline
    meta: bool = False
    dead_letter_topic: str | None = None
    max_batch: int = 20_000
    poll_timeout: float = 0.5
    #: a bounded read that gets nothing for this long while partitions are unfinished
    #: fails instead of waiting for ever (the broker is gone)
    stall_timeout: float = 60.0
    #: a group read that gets no partitions for this long fails
    join_timeout: float = 60.0


class _Decoder:
    """The chains of the partitions read, the context their dead letters go to."""

    def __init__(self, config: Any, topic: str, opts: ReadOptions, report: ReadReport) -> None:
        self.opts = opts
        self.report = report
        self.chains: dict[int, Chain] = {}
        self.producer = None
        self.ctx: Context
        if opts.dead_letter_topic is not None:
            from streamlearn.kafka.clients import make_producer
            from streamlearn.runtime.context import KafkaContext

            self.producer = make_producer(config)
            self.ctx = KafkaContext(
                self.producer,
                pipeline=f"dataset:{topic}",
                dead_letter_topic=opts.dead_letter_topic,
            )
        else:
            self.ctx = Context()

    def push(self, topic: str, partition: int, msgs: list[Any]) -> pl.DataFrame | None:
        from streamlearn.kafka.records import batch_from_messages

        chain = self.chains.get(partition)
        if chain is None:
            chain = self.chains[partition] = self.opts.pipeline.build()
        self.report.records += len(msgs)
        out = chain.push(batch_from_messages(topic, partition, msgs), self.ctx)
        self._count()
        return self._frame(out)

    def flush(self) -> list[pl.DataFrame]:
        frames = []
        for chain in self.chains.values():
            for b in chain.flush(self.ctx):
                f = self._frame(b)
                if f is not None:
                    frames.append(f)
        self._count()
        return frames

    def sync(self) -> None:
        """Dead letters delivered (before offsets are committed)."""
        if self.producer is not None and self.producer.flush(30) != 0:
            raise KafkaError(f"dead letters to {self.opts.dead_letter_topic!r} not delivered")

    def _count(self) -> None:
        ctx = self.ctx
        dead = getattr(ctx, "dead_count", None)
        if dead is None:
            self.report.absorb(ctx)
        elif dead != self.report.dead_lettered:  # produced to the dead-letter topic
            self.report.dead_lettered = dead
            by_step = getattr(ctx, "dead_by_step", {})
            self.report.by_reason = {f"step {k}": v for k, v in by_step.items()}

    def _frame(self, batch: Batch | None) -> pl.DataFrame | None:
        if batch is None or not batch.height:
            return None
        df = batch.data
        if self.opts.meta:
            df = df.with_columns(_meta(batch))
        self.report.rows += df.height
        return df


class _Ahead:
    """Decoding on one worker thread while the caller consumes the next batch.

    ``consume()`` spends its time making ``Message`` objects (holding the GIL); the
    decoder spends most of its own in Polars' NDJSON reader, which releases it. Overlapping
    the two took a read from ~0.64x to ~0.8x of the consume-only rate (bench/datasets.py).
    One worker keeps the partitions' chains serial and the results in order.
    """

    def __init__(self, decoder: _Decoder, depth: int = 2) -> None:
        self.decoder = decoder
        self.depth = depth
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="streamlearn-dataset")
        self.pending: deque[tuple[Future[pl.DataFrame | None], Any]] = deque()

    def submit(self, topic: str, partition: int, msgs: list[Any], tag: Any = None) -> None:
        self.pending.append((self.pool.submit(self.decoder.push, topic, partition, msgs), tag))

    def ready(self, *, wait: bool = False) -> Iterator[tuple[pl.DataFrame | None, Any]]:
        """Finished results in submission order (all of them with ``wait``); at most
        ``depth`` stay in flight."""
        while self.pending and (
            wait or len(self.pending) > self.depth or self.pending[0][0].done()
        ):
            fut, tag = self.pending.popleft()
            yield fut.result(), tag

    def close(self) -> None:
        for fut, _ in self.pending:
            fut.cancel()
        self.pool.shutdown(wait=True)


def _meta(batch: Batch) -> list[pl.Series]:
    n = batch.height
    offs = batch.offsets()
    origin = batch.origin
    if origin is None or offs is None or batch.rows is None:  # rows no longer map to records
        return [
            pl.Series(META[0], [None] * n, dtype=pl.Int32),
            pl.Series(META[1], [None] * n, dtype=pl.Int64),
            pl.Series(META[2], [None] * n, dtype=pl.Datetime("ms", "UTC")),
        ]
    stamps = origin.timestamps(batch.rows)
    return [
        pl.Series(META[0], np.full(n, origin.partition, dtype=np.int32)),
        pl.Series(META[1], offs),
        pl.Series(META[2], stamps).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"),
    ]


def _offsets(msgs: list[Any]) -> np.ndarray:
    from confluent_kafka import Message

    return np.fromiter(map(Message.offset, msgs), dtype=np.int64, count=len(msgs))


def read_bounded(
    config: Any, slc: DatasetSlice, opts: ReadOptions, report: ReadReport
) -> Iterator[pl.DataFrame]:
    """Frames of the records of ``slc``, in offset order within each partition."""
    from confluent_kafka import TopicPartition

    from streamlearn.kafka.clients import make_consumer
    from streamlearn.kafka.reader import split_by_partition

    ends = {r.partition: r.end for r in slc.ranges if r.length > 0}
    if not ends:
        return
    topic = slc.topic
    from streamlearn.runtime.context import freeze_long_lived, release_long_lived

    consumer = make_consumer(config, BOUNDED_GROUP, **{"enable.partition.eof": True})
    decoder = _Decoder(config, topic, opts, report)
    ahead = _Ahead(decoder)
    # millions of short-lived Messages: without this the cyclic GC's full passes over
    # every long-lived object took ~half of a 1M-record read (as in the runtime)
    freeze_long_lived()
    try:
        consumer.assign(
            [TopicPartition(topic, r.partition, r.start) for r in slc.ranges if r.length]
        )
        open_parts = set(ends)
        last_seen = time.monotonic()
        while open_parts:
            msgs = consumer.consume(num_messages=opts.max_batch, timeout=opts.poll_timeout)
            eofs: list[tuple[str, int]] = []
            groups = split_by_partition(msgs, ends=eofs)
            if groups:
                last_seen = time.monotonic()
            for _, p, ms in groups:
                if p not in open_parts:
                    continue
                end = ends[p]
                if int(ms[-1].offset() or 0) >= end - 1:
                    ms = ms[: int(np.searchsorted(_offsets(ms), end))]
                    open_parts.discard(p)
                    consumer.pause([TopicPartition(topic, p)])
                if ms:
                    ahead.submit(topic, p, ms)
            for frame, _ in ahead.ready():
                if frame is not None:
                    yield frame
            for _, p in eofs:
                if p in open_parts:  # the log ended before the end offset
                    pos = consumer.position([TopicPartition(topic, p)])[0].offset
                    report.short[p] = pos
                    log.warning(
                        "%s[%s] ended at offset %s, before the dataset's end %s",
                        topic,
                        p,
                        pos,
                        ends[p],
                    )
                    open_parts.discard(p)
            if open_parts and time.monotonic() - last_seen > opts.stall_timeout:
                raise KafkaError(
                    f"no records from {topic} partitions {sorted(open_parts)} for "
                    f"{opts.stall_timeout:g} s before their end offsets "
                    f"{ {p: ends[p] for p in sorted(open_parts)} }"
                )
        for frame, _ in ahead.ready(wait=True):
            if frame is not None:
                yield frame
        yield from decoder.flush()
        decoder.sync()
    finally:
        release_long_lived()
        ahead.close()
        consumer.close()


def read_group(
    config: Any,
    topic: str,
    group: str,
    stream_timeout: float,
    opts: ReadOptions,
    report: ReadReport,
) -> Iterator[pl.DataFrame]:
    """Frames of what ``group`` has not read yet of ``topic``, committing as it goes.

    Ends when every assigned partition is at its end (``stream_timeout=0``), when no new
    record came for ``stream_timeout`` seconds after that, or never (``-1``).
    """
    from confluent_kafka import KafkaException, TopicPartition

    from streamlearn.kafka.clients import make_consumer
    from streamlearn.kafka.connect import log_assigned, log_joining
    from streamlearn.kafka.reader import split_by_partition
    from streamlearn.runtime.context import freeze_long_lived, release_long_lived

    consumer = make_consumer(config, group, **{"enable.partition.eof": True})
    decoder = _Decoder(config, topic, opts, report)
    ahead = _Ahead(decoder)
    freeze_long_lived()
    assigned: set[int] = set()
    at_end: set[int] = set()

    def on_assign(c: Any, parts: list[Any]) -> None:
        assigned.update(tp.partition for tp in parts)
        log_assigned(group, [(tp.topic, tp.partition) for tp in parts])

    def on_revoke(c: Any, parts: list[Any]) -> None:
        for tp in parts:
            assigned.discard(tp.partition)
            at_end.discard(tp.partition)

    def commit(done: dict[int, int]) -> None:
        if not done:
            return
        decoder.sync()
        try:
            consumer.commit(
                offsets=[TopicPartition(topic, p, o) for p, o in done.items()],
                asynchronous=False,
            )
        except KafkaException as exc:  # revoked meanwhile: its new owner reads it again
            log.warning("commit of %s in group %s failed: %s", topic, group, exc.args[0].str())

    log_joining(group, [topic])
    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    started = time.monotonic()
    ended_at: float | None = None  # when every assigned partition was last seen at its end
    try:
        while True:
            msgs = consumer.consume(num_messages=opts.max_batch, timeout=opts.poll_timeout)
            eofs: list[tuple[str, int]] = []
            groups = split_by_partition(msgs, ends=eofs)
            done: dict[int, int] = {}
            for i, (_, p, ms) in enumerate(groups):
                at_end.discard(p)
                done[p] = int(ms[-1].offset() or 0) + 1
                # the batch's offsets ride with its last run of records
                ahead.submit(topic, p, ms, dict(done) if i == len(groups) - 1 else None)
            idle = not groups
            for frame, offsets in ahead.ready(wait=idle):
                if frame is not None:
                    yield frame  # the caller took these rows before we commit them
                if offsets is not None:
                    commit(offsets)
            at_end.update(p for _, p in eofs if p in assigned)
            now = time.monotonic()
            if not assigned:
                if now - started > opts.join_timeout:
                    raise KafkaError(
                        f"group {group!r} got no partition of {topic!r} within "
                        f"{opts.join_timeout:g} s"
                    )
                continue
            if groups or at_end != assigned:
                ended_at = None
                continue
            ended_at = ended_at or now
            if stream_timeout >= 0 and now - ended_at >= stream_timeout:
                break
        yield from decoder.flush()
        decoder.sync()
    finally:
        release_long_lived()
        ahead.close()
        consumer.close()


def group_lag(config: Any, topic: str, group: str, timeout: float = 10.0) -> dict[int, int]:
    """Records not yet committed by ``group``, per partition: the log end (high
    watermark) minus the committed offset (the log start when nothing is committed)."""
    from confluent_kafka import KafkaException, TopicPartition

    from streamlearn.kafka.clients import make_consumer

    consumer = make_consumer(config, group)
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None:
            raise KafkaError(f"topic {topic!r} does not exist")
        parts = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        committed = {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=timeout)}
        out = {}
        for tp in parts:
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
            pos = committed.get(tp.partition, -1)
            out[tp.partition] = max(0, high - (pos if pos >= 0 else low))
        return out
    except KafkaException as exc:
        raise KafkaError(f"cannot read the lag of {group!r} on {topic!r}: {exc}") from None
    finally:
        consumer.close()
