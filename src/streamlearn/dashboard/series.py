"""Recent values of an output topic over time, for the board's series panels.

The metrics feed says how a pipeline runs; a series panel shows what it *writes*:
scenario S2's ``example_2`` carries ``{time, prediction, Temperature}`` and its board
plots the temperature and the predicted regime over time (``streamlearn dashboard --name
s2 --series example_2:Temperature,prediction@time``).

An output topic can carry tens of thousands of records per second, so the panel never
holds records: :class:`SeriesBuffer` folds them into at most ``points`` time buckets
over the last ``seconds`` of the series' own clock (the record timestamp, or a time
column of the records), each bucket keeping per column the last value, the minimum and
the maximum (the page draws the last value as the line and the range as a band: a
reading stays a real reading, a label stays a label). Memory is bounded by ``points``
times the number of columns, whatever the rate. :class:`SeriesFeed` reads the topic with
the metrics feed's reader (no group, no commit: watching costs the pipeline nothing).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson

from streamlearn.core.errors import ConfigError
from streamlearn.dashboard.feed import MetricsFeed

__all__ = ["SeriesBuffer", "SeriesFeed", "SeriesSpec", "parse_series"]


@dataclass(frozen=True)
class SeriesSpec:
    """What a series panel plots: numeric ``columns`` of the JSON records of ``topic``,
    over ``time`` (a column: ISO 8601 text or epoch seconds/ms/µs/ns; ``None``: the
    record timestamp)."""

    topic: str
    columns: tuple[str, ...]
    time: str | None = None

    def __str__(self) -> str:
        at = f"@{self.time}" if self.time else ""
        return f"{self.topic}:{','.join(self.columns)}{at}"


def parse_series(text: str | SeriesSpec) -> SeriesSpec:
    """``TOPIC:COLUMN[,COLUMN...][@TIME_COLUMN]`` as a :class:`SeriesSpec`.

    Examples
    --------
    >>> parse_series("example_2:Temperature,prediction")
    SeriesSpec(topic='example_2', columns=('Temperature', 'prediction'), time=None)
    >>> parse_series("example_2:Temperature,prediction@time").time
    'time'
    >>> try:
    ...     parse_series("example_2")
    ... except ConfigError as exc:
    ...     print(exc)
    --series 'example_2': expected TOPIC:COLUMN[,COLUMN...][@TIME_COLUMN]
    """
    if isinstance(text, SeriesSpec):
        return text
    topic, sep, rest = text.strip().partition(":")
    cols, _, time_col = rest.partition("@")
    columns = tuple(c.strip() for c in cols.split(",") if c.strip())
    if not sep or not topic.strip() or not columns or ("@" in rest and not time_col.strip()):
        raise ConfigError(f"--series {text!r}: expected TOPIC:COLUMN[,COLUMN...][@TIME_COLUMN]")
    if len(set(columns)) != len(columns):
        raise ConfigError(f"--series {text!r}: a column is named twice")
    return SeriesSpec(topic.strip(), columns, time_col.strip() or None)


class SeriesBuffer:
    """At most ``points`` buckets of ``seconds / points`` seconds over the newest
    ``seconds`` of a series; per bucket and column: ``[last, min, max]``.

    Buckets carry the sequence number of their last change, so a viewer that has seen
    up to ``seq`` gets only the buckets that moved since (:meth:`delta`).

    Examples
    --------
    >>> b = SeriesBuffer(SeriesSpec("t", ("x", "y")), seconds=60, points=60)
    >>> for t, x in [(100.2, 3), (100.7, 5), (101.1, 4)]:
    ...     _ = b.add(t, {"x": x, "y": "n/a"})
    >>> d = b.delta(0)
    >>> d["points"]          # t, then x's [last, min, max], then y's (never numeric)
    [[100.0, 5, 3, 5, None, None, None], [101.0, 4, 4, 4, None, None, None]]
    >>> d["last"], b.delta(d["seq"])["points"]
    ({'x': 4}, [])
    """

    def __init__(self, spec: SeriesSpec, *, seconds: float = 900.0, points: int = 600) -> None:
        if seconds <= 0 or points < 2:
            raise ConfigError("a series needs seconds > 0 and points >= 2")
        self.spec = spec
        self.seconds = seconds
        self.points = points
        self.width = seconds / points
        self._lock = threading.Lock()
        self._buckets: dict[int, list[Any]] = {}  # index -> [seq, c0 last, min, max, c1...]
        self._newest: int | None = None
        self._last: dict[str, float] = {}
        self.seq = 0
        self.records = 0
        self.skipped = 0
        self.last_seen: float | None = None  # wall time of the newest record taken
        self.error: str | None = None
        self.closed = False

    def add(self, t: float, values: dict[str, Any]) -> bool:
        """Fold one record at time ``t`` (epoch seconds); ``False`` when it is older
        than the window or has none of the columns as a number."""
        nums = [_number(values.get(c)) for c in self.spec.columns]
        with self._lock:
            self.last_seen = time.time()
            i = math.floor(t / self.width)
            if all(v is None for v in nums) or (
                self._newest is not None and i <= self._newest - self.points
            ):
                self.skipped += 1
                return False
            self.records += 1
            self.seq += 1
            b = self._buckets.get(i)
            if b is None:
                b = self._buckets[i] = [0, *([None] * (3 * len(nums)))]
            b[0] = self.seq
            for j, v in enumerate(nums):
                if v is None:
                    continue
                k = 1 + 3 * j
                b[k] = v
                b[k + 1] = v if b[k + 1] is None else min(b[k + 1], v)
                b[k + 2] = v if b[k + 2] is None else max(b[k + 2], v)
                self._last[self.spec.columns[j]] = v
            if self._newest is None or i > self._newest:
                self._newest = i
                limit = i - self.points
                for old in [k for k in self._buckets if k <= limit]:
                    del self._buckets[old]
            return True

    def delta(self, since: int) -> dict[str, Any]:
        """The buckets changed after ``since`` (all of them for ``since=0``), in time
        order, as ``[t, c0 last, c0 min, c0 max, c1 last, ...]``; and the window."""
        with self._lock:
            points = [
                [round(i * self.width, 6), *b[1:]]
                for i, b in sorted(self._buckets.items())
                if b[0] > since
            ]
            newest = self._newest
            return {
                "topic": self.spec.topic,
                "columns": list(self.spec.columns),
                "time": self.spec.time,
                "id": str(self.spec),
                "seq": self.seq,
                "seconds": self.seconds,
                "width": self.width,
                "from": None
                if newest is None
                else round((newest - self.points + 1) * self.width, 6),
                "points": points,
                "last": dict(self._last),
                "records": self.records,
                "skipped": self.skipped,
                "last_seen": self.last_seen,
                "error": self.error,
            }


class SeriesFeed(MetricsFeed):
    """Reads ``spec.topic`` (JSON objects, as ``sl.write.to_kafka`` writes them) into a
    :class:`SeriesBuffer`, from ``minutes`` back (by record timestamp).

    Examples
    --------
    >>> from streamlearn.kafka.config import KafkaConfig
    >>> spec = parse_series("example_2:Temperature,prediction@time")
    >>> feed = SeriesFeed(KafkaConfig("127.0.0.1:1"), SeriesBuffer(spec))
    >>> feed.topic, feed.running
    ('example_2', False)
    """

    _thread_name = "sl-dashboard-series"

    def __init__(self, kafka: Any, buffer: SeriesBuffer, *, minutes: float | None = 15.0) -> None:
        super().__init__(kafka, buffer.spec.topic, buffer, minutes=minutes)
        self.buffer = buffer

    def _take(self, msgs: list[Any], since: float | None) -> None:
        time_col = self.buffer.spec.time
        for msg in msgs:
            try:
                row = orjson.loads(msg.value() or b"")
            except orjson.JSONDecodeError:
                row = None
            if not isinstance(row, dict):
                self.buffer.skipped += 1
                continue
            if time_col is None:
                kind, ms = msg.timestamp()
                t = ms / 1000 if kind and ms >= 0 else time.time()
            else:
                parsed = parse_time(row.get(time_col))
                if parsed is None:
                    self.buffer.skipped += 1
                    continue
                t = parsed
            self.buffer.add(t, row)


def parse_time(v: Any) -> float | None:
    """Epoch seconds of a time column's value: ISO 8601 text (UTC when it names no
    zone), or a number in seconds, ms, µs or ns (told apart by size).

    Examples
    --------
    >>> parse_time("2026-01-01 00:00:01"), parse_time("2026-01-01T00:00:00.500Z")
    (1767225601.0, 1767225600.5)
    >>> parse_time(1767225601), parse_time(1767225601000), parse_time("soon")
    (1767225601.0, 1767225601.0, None)
    """
    if isinstance(v, str):
        try:
            d = dt.datetime.fromisoformat(v)
        except ValueError:
            return None
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.timezone.utc)
        return d.timestamp()
    n = _number(v)
    if n is None:
        return None
    for scale in (1e9, 1e6, 1e3):  # ns, µs, ms since the epoch (after 1973 for ms)
        if abs(n) >= 1e11 * scale / 1e3:
            return n / scale
    return float(n)


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)) and math.isfinite(v):
        return v
    return None
