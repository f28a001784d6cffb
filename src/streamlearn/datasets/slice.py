"""The exact records of a bounded dataset: one offset range per topic partition.

A bounded dataset resolves ``start``/``end`` (``"earliest"``, ``"now"``, offsets or times)
to offsets once, when it is opened; what it reads from then on is this value, so every
epoch reads the same records and a training run can be reproduced later from the saved
slice (as Kafka-ML describes a training set: ``topic:partition:offset:length``). The
slice is plain data: JSON in, JSON out, no client.

Examples
--------
>>> s = DatasetSlice("susy-train", (PartitionRange("susy-train", 0, 0, 1000),))
>>> s.records
1000
>>> DatasetSlice.from_json(s.to_json()) == s
True
>>> str(s.ranges[0])
'susy-train:0:0:1000'
>>> PartitionRange.parse("susy-train:0:0:1000").end
1000
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from streamlearn.core.errors import ConfigError

__all__ = ["DatasetSlice", "PartitionRange"]


@dataclass(frozen=True, order=True)
class PartitionRange:
    """Offsets ``start`` (included) to ``end`` (excluded) of one topic partition.

    ``end - start`` is an upper bound of the records read: a compacted topic or a
    transaction's control records leave gaps in the offsets.
    """

    topic: str
    partition: int
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ConfigError(
                f"bad offset range {self.start}..{self.end} for {self.topic}[{self.partition}]"
            )

    @property
    def length(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.topic}:{self.partition}:{self.start}:{self.length}"

    @classmethod
    def parse(cls, text: str) -> PartitionRange:
        """``topic:partition:offset:length`` (Kafka-ML's notation) to a range.

        Examples
        --------
        >>> PartitionRange.parse("t:1:5:10")
        PartitionRange(topic='t', partition=1, start=5, end=15)
        """
        parts = text.rsplit(":", 3)
        if len(parts) != 4 or not parts[0]:
            raise ConfigError(f"expected topic:partition:offset:length, got {text!r}")
        topic, part, offset, length = parts
        try:
            p, o, n = int(part), int(offset), int(length)
        except ValueError:
            raise ConfigError(f"expected topic:partition:offset:length, got {text!r}") from None
        return cls(topic, p, o, o + n)


@dataclass(frozen=True)
class DatasetSlice:
    """The per-partition offset ranges of one topic that a bounded dataset reads."""

    topic: str
    ranges: tuple[PartitionRange, ...]

    def __post_init__(self) -> None:
        ranges = tuple(sorted(self.ranges))
        if any(r.topic != self.topic for r in ranges):
            raise ConfigError(f"every range of a slice of {self.topic!r} must be of that topic")
        if len({r.partition for r in ranges}) != len(ranges):
            raise ConfigError("a slice holds one range per partition")
        object.__setattr__(self, "ranges", ranges)

    @property
    def records(self) -> int:
        """Offsets covered (the records read, unless the topic has gaps)."""
        return sum(r.length for r in self.ranges)

    @property
    def partitions(self) -> list[int]:
        return [r.partition for r in self.ranges]

    def starts(self) -> dict[int, int]:
        return {r.partition: r.start for r in self.ranges}

    def ends(self) -> dict[int, int]:
        return {r.partition: r.end for r in self.ranges}

    def only(self, partitions: Iterable[int]) -> DatasetSlice:
        """The ranges of some partitions (a torch worker's or a rank's share)."""
        keep = set(partitions)
        return DatasetSlice(self.topic, tuple(r for r in self.ranges if r.partition in keep))

    def shard(self, index: int, count: int) -> DatasetSlice:
        """Share ``index`` of ``count``: whole partitions round-robin when there are at
        least ``count`` of them, else each partition cut into equal runs of offsets, so
        that every share has work and no offset is in two shares.

        Examples
        --------
        >>> s = DatasetSlice("t", (PartitionRange("t", 0, 0, 10),))
        >>> [str(s.shard(i, 2)) for i in range(2)]
        ['t:0:0:5', 't:0:5:5']
        >>> s2 = DatasetSlice("t", (PartitionRange("t", 0, 0, 4), PartitionRange("t", 1, 0, 6)))
        >>> [s2.shard(i, 2).partitions for i in range(2)]
        [[0], [1]]
        """
        if not 0 <= index < count:
            raise ConfigError(f"shard {index} of {count} does not exist")
        ranges = [r for r in self.ranges if r.length > 0]
        if not ranges:
            return DatasetSlice(self.topic, ())
        cuts = -(-count // len(ranges))  # pieces per partition: at least one share each
        pieces: list[PartitionRange] = []
        for r in ranges:
            bounds = [r.start + (r.length * k) // cuts for k in range(cuts + 1)]
            pieces.extend(
                PartitionRange(r.topic, r.partition, lo, hi)
                for lo, hi in itertools.pairwise(bounds)
            )
        mine = [p for i, p in enumerate(pieces) if i % count == index and p.length > 0]
        return DatasetSlice(self.topic, tuple(mine))

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "ranges": [
                {"partition": r.partition, "start": r.start, "end": r.end} for r in self.ranges
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSlice:
        try:
            topic = str(data["topic"])
            ranges = tuple(
                PartitionRange(topic, int(r["partition"]), int(r["start"]), int(r["end"]))
                for r in data["ranges"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not a dataset slice: {exc}") from None
        return cls(topic, ranges)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> DatasetSlice:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"not a dataset slice: {exc}") from None
        return cls.from_dict(data)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.ranges) or f"{self.topic}:(empty)"
