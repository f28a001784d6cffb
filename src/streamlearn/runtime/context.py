"""The run context of the Kafka runtime: where steps' outputs and dead letters go."""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Sequence
from itertools import count, repeat
from operator import itemgetter
from typing import Any

from confluent_kafka import Producer

from streamlearn.core.batch import Batch
from streamlearn.core.operator import Context
from streamlearn.formats.json import encode_json
from streamlearn.kafka.produce import produce, produce_all
from streamlearn.runtime.stats import LATENCY_SAMPLES_PER_BATCH, RunStats

_runs_frozen = 0
_thresholds: tuple[int, int, int] | None = None
#: young-generation size during a run (CPython's default is 700 tracked allocations)
RUN_GC_THRESHOLD = 100_000


def freeze_long_lived() -> None:
    """Take every object alive now out of the cyclic garbage collector's sight.

    A stream allocates millions of short-lived tracked objects (confluent-kafka
    ``Message``s); the full collections they trigger traverse every live object, most of
    them the modules of Polars, DuckDB, NumPy and the clients, which outlive the run:
    ~10% of S1's time (BENCHMARKS.md). ``gc.freeze()`` (CPython's advice for long-running
    processes) leaves them out of those traversals. It follows a full collection, so only
    live objects are frozen; :func:`release_long_lived` gives them back when the run ends
    (runs may nest or overlap: the last one to end releases).
    """
    global _runs_frozen, _thresholds
    _runs_frozen += 1
    if _runs_frozen == 1:
        gc.collect()
        gc.freeze()
        _thresholds = gc.get_threshold()
        gc.set_threshold(max(_thresholds[0], RUN_GC_THRESHOLD), *_thresholds[1:])


def release_long_lived() -> None:
    """End of a run: frozen objects are collectable again (see :func:`freeze_long_lived`)."""
    global _runs_frozen, _thresholds
    if _runs_frozen > 0:
        _runs_frozen -= 1
        if _runs_frozen == 0:
            gc.unfreeze()
            if _thresholds is not None:
                gc.set_threshold(*_thresholds)
                _thresholds = None


class KafkaContext(Context):
    """Produces sink records and dead letters with one producer (one transaction)."""

    def __init__(
        self, producer: Producer, *, pipeline: str, dead_letter_topic: str, clock: Any = None
    ) -> None:
        super().__init__() if clock is None else super().__init__(clock)
        self.producer = producer
        self.pipeline = pipeline
        self.dead_letter_topic = dead_letter_topic
        self.produced: dict[str, int] = {}
        #: the run's statistics, for the end-to-end latency of outputs (set by the runner)
        self.stats: RunStats | None = None
        self.dead_count = 0
        self.dead_by_step: dict[str, int] = {}

    def emit(
        self,
        destination: str,
        batch: Batch,
        values: list[bytes],
        keys: list[bytes | None] | None = None,
        headers: Sequence[tuple[str, Sequence[bytes]]] = (),
    ) -> None:
        ids = batch.record_ids()
        if any(len(vals) != len(values) for _, vals in headers):
            raise ValueError(
                f"emit to {destination!r}: a header column has not {len(values)} values"
            )
        if len(ids) != len(values) or (keys is not None and len(keys) != len(values)):
            raise ValueError(
                f"emit to {destination!r}: {len(values)} values, {len(ids)} ids, "
                f"{len(keys) if keys is not None else '-'} keys"
            )
        # One C-level map over produce(): no Python frame per record. The arguments are
        # positional (topic, value, key, partition, on_delivery, callback, timestamp,
        # headers) because map() cannot pass keywords; -1 is "any partition" (the
        # partitioner decides), 0 "now". ``pulled`` counts the values handed out, so after a
        # BufferError we know where to go on.
        pulled = count()
        counted = map(itemgetter(1), zip(pulled, values, strict=False))
        # per record [("sl-id", id), (name, value)...]: zips, no Python frame per record
        per_record = map(
            list,
            zip(
                zip(repeat("sl-id"), ids),
                *(zip(repeat(h), vals) for h, vals in headers),
                strict=True,
            ),
        )
        try:
            deque(
                map(
                    self.producer.produce,
                    repeat(destination),
                    counted,
                    repeat(None) if keys is None else keys,
                    repeat(-1),
                    repeat(None),
                    repeat(None),
                    repeat(0),
                    per_record,
                ),
                0,
            )
        except BufferError:
            # the local queue is full: the failed produce() enqueued nothing, the ones
            # before it did; let librdkafka send, then go on where we stopped
            done = next(pulled) - 1
            self.producer.poll(0.05)
            self._produce_slowly(
                destination,
                values[done:],
                keys[done:] if keys is not None else [None] * (len(values) - done),
                ids[done:],
                [(h, vals[done:]) for h, vals in headers],
            )
        self.produced[destination] = self.produced.get(destination, 0) + len(values)

    def flush_sinks(self, *, wait: bool = False) -> None:
        """One attempt per sink: a database that is away raises
        :class:`~streamlearn.core.errors.SinkUnavailable` at once, and the runner pauses
        its partitions and keeps polling (:mod:`streamlearn.runtime.backpressure`)
        instead of blocking the loop past ``max.poll.interval.ms``."""
        super().flush_sinks(wait=wait)

    def _produce_slowly(
        self,
        topic: str,
        values: list[bytes],
        keys: list[bytes | None],
        ids: list[bytes],
        headers: Sequence[tuple[str, Sequence[bytes]]] = (),
    ) -> None:
        per_record = (
            [("sl-id", rid), *((h, vals[i]) for h, vals in headers)] for i, rid in enumerate(ids)
        )
        produce_all(self.producer, topic, values, keys, headers=per_record)

    def observe_output(self, batch: Batch) -> None:
        """End-to-end latency of outputs: now minus their input records' timestamps, on
        at most ~1000 evenly spread rows per batch (reading a timestamp is a Python call
        per record; a sample is as good for percentiles)."""
        if self.stats is None or batch.origin is None or batch.rows is None or not batch.height:
            return
        rows = batch.rows
        if len(rows) > LATENCY_SAMPLES_PER_BATCH:
            rows = rows[:: len(rows) // LATENCY_SAMPLES_PER_BATCH]
        self.stats.record_output_latency(batch.origin.timestamps(rows), time.time() * 1000)

    def dead_letter(self, batch: Batch, reasons: str | list[str], operator: str) -> None:
        n = batch.height
        if not n:
            return
        if isinstance(reasons, str):
            reasons = [reasons] * n
        origin = batch.origin
        values: list[bytes | None]
        keys: list[bytes | None]
        offs = batch.offsets()
        if origin is not None and offs is not None:
            values = batch.values()
            keys = batch.keys()
            offsets = offs.tolist()
            topic, part = origin.topic, str(origin.partition).encode()
        else:
            values = list(encode_json(batch.data))
            keys = [None] * n
            offsets = [-1] * n
            topic = origin.topic if origin is not None else ""
            part = str(origin.partition if origin is not None else -1).encode()
        tb = topic.encode()
        ob = operator.encode()
        pb = self.pipeline.encode()
        for value, key, off, reason in zip(values, keys, offsets, reasons, strict=True):
            headers = [
                ("sl-error", reason.encode()),
                ("sl-operator", ob),
                ("sl-topic", tb),
                ("sl-partition", part),
                ("sl-offset", str(off).encode()),
                ("sl-pipeline", pb),
            ]
            produce(self.producer, self.dead_letter_topic, value, key, headers=headers)
        self.dead_count += n
        self.dead_by_step[operator] = self.dead_by_step.get(operator, 0) + n


def dead_letter_info(headers: list[tuple[str, bytes]] | None) -> dict[str, Any]:
    """Read the ``sl-*`` headers of a dead-letter record into a dict (for tools and tests)."""
    out: dict[str, Any] = {}
    for k, v in headers or []:
        if k.startswith("sl-"):
            out[k[3:]] = v.decode(errors="replace") if v is not None else None
    for k in ("partition", "offset"):
        if k in out:
            out[k] = int(out[k])
    return out
