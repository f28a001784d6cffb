"""Live counters of a run, read by the CLI, the demo and the benchmarks."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RunStats:
    """What a run has done so far.

    ``records_in == records_out + records_filtered + dead_lettered + records_buffered``
    holds at every commit for a pipeline with one sink at its end; ``records_buffered``
    is zero once a bounded run has drained.
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
    partitions: list[int] = field(default_factory=list)
    restored_partitions: list[int] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    #: ``time.monotonic()`` when the first records arrived (group join excluded)
    first_record_at: float | None = None
    elapsed_s: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("started_at")
        d.pop("first_record_at")
        return d
