"""``start``/``end`` of a bounded dataset -> offsets per partition, asked of the cluster once.

A bound is ``"earliest"`` (the log start), ``"now"`` (the log end at this moment: the high
watermark, as Apache Kafka defines it), an offset, a time (``datetime`` or ISO 8601
string: the first record at or after it, through ``offsets_for_times``), or a dict of
those per partition (only its partitions are read when it is the ``start``).

The high watermark is what Kafka defines as the log end. Tansu 0.6 reports the first
offset of the last record batch + 1 instead (BROKERS.md), so ``"now"`` there stops short
of the last batch; the reading itself (end-of-partition events) is right on both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from streamlearn.core.errors import ConfigError, KafkaError
from streamlearn.datasets.slice import DatasetSlice, PartitionRange

__all__ = ["Bound", "resolve_slice", "to_millis"]

#: what ``start=`` and ``end=`` accept
Bound = str | int | dt.datetime | Mapping[int, "str | int | dt.datetime"]
_NAMED = ("earliest", "now", "latest")


def to_millis(when: str | dt.datetime) -> int:
    """A time as epoch milliseconds; naive times are UTC.

    Examples
    --------
    >>> to_millis("2026-01-01T00:00:00Z")
    1767225600000
    """
    if isinstance(when, str):
        try:
            when = dt.datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"bad dataset bound {when!r}: expected 'earliest', 'now', an offset, "
                "a datetime or an ISO 8601 time"
            ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp() * 1000)


def check_bound(bound: Any, what: str) -> None:
    """Reject a malformed bound before any client is made (one line)."""
    items = bound.values() if isinstance(bound, Mapping) else [bound]
    for b in items:
        if isinstance(b, bool) or not isinstance(b, str | int | dt.datetime):
            raise ConfigError(f"{what}: expected 'earliest', 'now', an offset or a time, got {b!r}")
        if isinstance(b, int) and b < 0:
            raise ConfigError(f"{what}: offsets are >= 0, got {b}")
        if isinstance(b, str) and b not in _NAMED:
            to_millis(b)


def resolve_slice(
    consumer: Any, topic: str, start: Bound, end: Bound, timeout: float = 10.0
) -> DatasetSlice:
    """The offset ranges that ``start``..``end`` mean now (see the module docstring)."""
    from confluent_kafka import KafkaException, TopicPartition

    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    except KafkaException as exc:
        raise KafkaError(f"cannot read the metadata of {topic!r}: {exc.args[0].str()}") from None
    if meta is None or meta.error is not None or not meta.partitions:
        raise ConfigError(f"topic {topic!r} does not exist")
    partitions = sorted(meta.partitions)
    if isinstance(start, Mapping):
        unknown = sorted(set(start) - set(partitions))
        if unknown:
            raise ConfigError(f"topic {topic!r} has no partitions {unknown} (it has {partitions})")
        partitions = sorted(start)

    def wanted(bound: Bound, p: int) -> Any:
        if isinstance(bound, Mapping):
            return bound.get(p, "now")
        return bound

    marks = {}
    for p in partitions:
        try:
            marks[p] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
        except KafkaException as exc:
            raise KafkaError(
                f"cannot read the offsets of {topic}[{p}]: {exc.args[0].str()}"
            ) from None
    starts = _offsets(consumer, topic, {p: wanted(start, p) for p in partitions}, marks, timeout)
    ends = _offsets(consumer, topic, {p: wanted(end, p) for p in partitions}, marks, timeout)
    ranges = []
    for p in partitions:
        low = marks[p][0]
        s = max(starts[p], low)  # records before the log start were deleted
        e = ends[p]
        if e < s and isinstance(wanted(end, p), int) and isinstance(wanted(start, p), int):
            raise ConfigError(f"{topic}[{p}]: end offset {e} is before start offset {s}")
        ranges.append(PartitionRange(topic, p, s, max(e, s)))
    return DatasetSlice(topic, tuple(ranges))


def _offsets(
    consumer: Any,
    topic: str,
    bounds: dict[int, Any],
    marks: dict[int, tuple[int, int]],
    timeout: float,
) -> dict[int, int]:
    from confluent_kafka import KafkaException, TopicPartition

    out: dict[int, int] = {}
    times: dict[int, int] = {}
    for p, b in bounds.items():
        low, high = marks[p]
        if b == "earliest":
            out[p] = low
        elif b in ("now", "latest"):
            out[p] = high
        elif isinstance(b, int):
            out[p] = b
        else:
            times[p] = to_millis(b)
    if times:
        asked = [TopicPartition(topic, p, ms) for p, ms in times.items()]
        try:
            found = consumer.offsets_for_times(asked, timeout=timeout)
        except KafkaException as exc:
            raise KafkaError(
                f"cannot look up offsets by time in {topic!r}: {exc.args[0].str()}"
            ) from None
        for tp in found:
            # -1: no record at or after that time, i.e. the log end
            out[tp.partition] = tp.offset if tp.offset >= 0 else marks[tp.partition][1]
    return out
