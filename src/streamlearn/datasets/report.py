"""What a dataset read could not use: bad records, counted with their reasons.

A bad record never stops an epoch and is never dropped without a trace: the decoder (or
any operator of ``ds.pipe``) dead-letters it through the run context, and the dataset
folds those into this report after every batch (or produces them to a dead-letter topic
with the runtime's own ``sl-*`` headers, when one is given).

Examples
--------
>>> r = ReadReport()
>>> r.add(0, 7, "invalid JSON record: x")
>>> r.dead_lettered, r.by_reason
(1, {'invalid JSON record: x': 1})
>>> print(r)
1 bad record: 1 x invalid JSON record: x (first at partition 0 offset 7)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReadReport"]

#: bad records kept as examples (partition, offset, reason); the rest are only counted
SAMPLES = 20


@dataclass
class ReadReport:
    """Counts of one read (an epoch, a ``to_polars()``); kept by the dataset as
    ``ds.report`` for its last read."""

    records: int = 0
    rows: int = 0
    dead_lettered: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[int, int, str]] = field(default_factory=list)
    #: partitions whose log ended before the requested end offset: partition -> where
    short: dict[int, int] = field(default_factory=dict)

    def add(self, partition: int, offset: int, reason: str) -> None:
        self.dead_lettered += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if len(self.samples) < SAMPLES:
            self.samples.append((partition, offset, reason))

    def absorb(self, ctx: Any) -> None:
        """Take the dead letters a context collected (offline :class:`Context`) or
        produced (the runtime's ``KafkaContext``, which only counts)."""
        for d in ctx.dead_letters:
            offs = d.batch.offsets()
            part = d.batch.origin.partition if d.batch.origin is not None else -1
            offsets = offs.tolist() if offs is not None else [-1] * d.batch.height
            for off, reason in zip(offsets, d.reasons, strict=False):
                self.add(part, int(off), reason)
        ctx.dead_letters.clear()

    def __str__(self) -> str:
        if not self.dead_lettered:
            return "no bad records"
        n = self.dead_lettered
        top = sorted(self.by_reason.items(), key=lambda kv: -kv[1])[:3]
        reasons = "; ".join(f"{c} x {r}" for r, c in top)
        first = self.samples[0] if self.samples else None
        where = f" (first at partition {first[0]} offset {first[1]})" if first else ""
        return f"{n} bad record{'s' if n != 1 else ''}: {reasons}{where}"
