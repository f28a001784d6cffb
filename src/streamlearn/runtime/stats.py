"""Live counters of a run, read by the CLI, the demo and the benchmarks."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

#: end-to-end latencies kept for the percentiles (the most recent outputs)
LATENCY_WINDOW = 16_384
#: at most this many evenly spaced samples from one batch, so one large batch does not
#: push everything else out of the window
LATENCY_SAMPLES_PER_BATCH = 1024


@dataclass
class RunStats:
    """What a run has done so far.

    ``records_in == records_out + records_filtered + dead_lettered + records_buffered``
    holds at every commit for a pipeline with one sink at its end; ``records_buffered``
    is zero once a bounded run has drained.

    ``e2e_p50_ms``/``e2e_p99_ms``/``e2e_max_ms``: end-to-end latency of recent outputs,
    from the Kafka timestamp of the input record each came from to the moment the sink
    handed it on (:meth:`record_output_latency`; the last hop, producer to broker, is not
    in it). ``None`` until an output with a timestamped input was written.

    Examples
    --------
    >>> import numpy as np
    >>> stats = RunStats()
    >>> stats.record_output_latency(np.array([1_000, 1_010, -1]), now_ms=1_030.0)
    >>> stats.e2e_p50_ms, stats.e2e_max_ms, stats.e2e_samples
    (25.0, 30.0, 2)
    """

    records_in: int = 0
    records_out: int = 0
    records_filtered: int = 0
    dead_lettered: int = 0
    records_buffered: int = 0
    batches: int = 0
    #: records read from broadcast inputs (not counted in ``records_in``)
    broadcast_records: int = 0
    commits: int = 0
    last_batch_ms: float = 0.0
    max_batch_rows: int = 0
    in_rate: float = 0.0
    out_rate: float = 0.0
    #: input partitions this member owns; once the run is over, those it owned when it
    #: stopped (leaving the group at the end gives them back)
    partitions: list[int] = field(default_factory=list)
    #: partition assignments received; more than one means the group rebalanced
    assignments: int = 0
    #: records behind the log end per input ``topic[partition]`` (last metrics interval)
    lag: dict[str, int] = field(default_factory=dict)
    #: partitions paused now because a sink's database is away
    #: (:mod:`streamlearn.runtime.backpressure`), how many times that happened, the
    #: seconds spent paused in all, and what is away (empty when nothing is)
    paused_partitions: int = 0
    sink_pauses: int = 0
    paused_s: float = 0.0
    sink_away: str = ""
    restored_partitions: list[int] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    #: ``time.monotonic()`` when the first records arrived (group join excluded)
    first_record_at: float | None = None
    elapsed_s: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)
    #: latencies in the window the percentiles are taken over
    e2e_samples: int = 0
    _latency: np.ndarray = field(default_factory=lambda: np.empty(LATENCY_WINDOW), repr=False)
    _latency_next: int = field(default=0, repr=False)
    #: (samples written, p50, p99, max) of the last read: percentiles are taken when
    #: someone looks (progress, metrics), not for every batch a sink writes
    _latency_cache: tuple[int, float, float, float] | None = field(default=None, repr=False)

    def _percentiles(self) -> tuple[float, float, float] | None:
        if not self.e2e_samples:
            return None
        cache = self._latency_cache
        if cache is None or cache[0] != self._latency_next:
            window = self._latency[: self.e2e_samples]
            p50, p99 = np.percentile(window, (50, 99))
            cache = (
                self._latency_next,
                round(float(p50), 2),
                round(float(p99), 2),
                round(float(window.max()), 2),
            )
            self._latency_cache = cache
        return cache[1], cache[2], cache[3]

    @property
    def e2e_p50_ms(self) -> float | None:
        pct = self._percentiles()
        return pct[0] if pct else None

    @property
    def e2e_p99_ms(self) -> float | None:
        pct = self._percentiles()
        return pct[1] if pct else None

    @property
    def e2e_max_ms(self) -> float | None:
        pct = self._percentiles()
        return pct[2] if pct else None

    def record_output_latency(self, timestamps_ms: np.ndarray, now_ms: float) -> None:
        """Note the end-to-end latency of a batch of outputs: ``now_ms`` (wall clock,
        epoch milliseconds) minus each output's input record timestamp (epoch ms, as
        ``Origin.timestamps`` gives them; negative means "no timestamp" and is skipped).
        Vectorised; the percentiles cover the last :data:`LATENCY_WINDOW` samples."""
        ts = np.asarray(timestamps_ms)
        ts = ts[ts >= 0]
        if not len(ts):
            return
        if len(ts) > LATENCY_SAMPLES_PER_BATCH:
            ts = ts[np.linspace(0, len(ts) - 1, LATENCY_SAMPLES_PER_BATCH).astype(np.int64)]
        lat = now_ms - ts.astype(np.float64)
        ring, n = self._latency, len(lat)
        at = self._latency_next % LATENCY_WINDOW
        first = min(n, LATENCY_WINDOW - at)
        ring[at : at + first] = lat[:first]
        ring[: n - first] = lat[first:]
        self._latency_next += n
        self.e2e_samples = min(self._latency_next, LATENCY_WINDOW)

    def as_dict(self) -> dict[str, Any]:
        d = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if not f.name.startswith("_") and f.name not in ("started_at", "first_record_at")
        }
        d.update(e2e_p50_ms=self.e2e_p50_ms, e2e_p99_ms=self.e2e_p99_ms, e2e_max_ms=self.e2e_max_ms)
        # deep copies, as dataclasses.asdict made them (the latency ring is left out)
        return copy.deepcopy(d)
