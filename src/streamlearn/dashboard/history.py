"""The dashboard's memory: the newest reports of the metrics feed and a rolling history.

The runtime publishes one ``kind="run"`` report per member and one ``kind="step"``
report per step and partition every ``metrics_interval`` (see
:mod:`streamlearn.runtime.metrics`). A dashboard wants two things from that feed: the
current figures (the big numbers) and how they moved (the charts). :class:`MetricsHistory`
keeps the newest report of each member and step, folds them with
:func:`~streamlearn.runtime.metrics.merge_reports`, and appends one *row* per second of
feed time: a flat ``{name: number}`` of every figure worth a chart. Rows carry a
sequence number so a browser that has seen rows up to ``seq`` asks only for the newer
ones (:meth:`MetricsHistory.delta`). It is plain Python (no web or Kafka import), fed by
:class:`~streamlearn.dashboard.feed.MetricsFeed` and read by the web app, from two threads.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

from streamlearn.runtime.metrics import merge_reports

__all__ = ["MetricsHistory"]

#: run-level figures charted over time
_RUN_SERIES = (
    "records_in",
    "records_out",
    "records_filtered",
    "dead_lettered",
    "records_buffered",
    "in_rate",
    "out_rate",
    "last_batch_ms",
    "e2e_p50_ms",
    "e2e_p99_ms",
)
#: scalar step figures nested one level down that are worth a chart (prequential windows)
_NESTED = ("window",)


class MetricsHistory:
    """Newest reports and a rolling, per-second history of the merged figures.

    Parameters
    ----------
    seconds : float
        How much feed time the history keeps (older rows are dropped).
    stale_after : float
        A member (or step) whose newest report is this much older than the newest report
        of the feed no longer counts: a stopped worker must not keep its last rate forever.
    trail : int
        Positions kept per k-means step for the centroid trails.

    Examples
    --------
    >>> h = MetricsHistory()
    >>> h.add({"kind": "run", "member": "a", "ts": 100.2, "records_in": 5, "in_rate": 5.0,
    ...        "lag": {"t[0]": 3}})
    >>> h.add({"kind": "step", "member": "a", "ts": 100.3, "step": "model", "partition": 0,
    ...        "figures": {"accuracy": 0.75, "window": {"accuracy": 0.8}}})
    >>> row = h.delta(0)["rows"][-1]
    >>> row["t"], row["v"]["records_in"], row["v"]["lag:t[0]"], row["v"]["model[0]:accuracy"]
    (100, 5, 3, 0.75)
    >>> row["v"]["model[0]:window.accuracy"]
    0.8
    >>> h.delta(h.seq)["rows"]
    []
    """

    def __init__(
        self, *, seconds: float = 900.0, stale_after: float = 10.0, trail: int = 120
    ) -> None:
        self.seconds = seconds
        self.stale_after = stale_after
        self._lock = threading.Lock()
        self._members: dict[str, Mapping[str, Any]] = {}
        self._steps: dict[tuple[str, Any], Mapping[str, Any]] = {}
        self._rows: deque[dict[str, Any]] = deque()
        self._trails: dict[str, deque[list[Any]]] = {}
        self._trail = trail
        self.seq = 0
        self.reports = 0
        self.last_ts: float | None = None
        self.error: str | None = None
        self.closed = False

    def add(self, report: Mapping[str, Any]) -> None:
        """Take one report of the feed (others than ``run`` and ``step`` are ignored)."""
        kind = report.get("kind")
        ts = report.get("ts")
        if kind not in ("run", "step") or not isinstance(ts, (int, float)):
            return
        with self._lock:
            self.reports += 1
            self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
            if kind == "run":
                self._members[str(report.get("member"))] = report
            else:
                key = (str(report.get("step")), report.get("partition"))
                self._steps[key] = report
                self._track_centroids(_step_key(*key), report.get("figures"), ts)
            self._evict()
            self._append_row(int(ts))

    def extend(self, reports: Iterable[Mapping[str, Any]]) -> None:
        """:meth:`add` each report."""
        for r in reports:
            self.add(r)

    def merged(self) -> dict[str, Any]:
        """The current view: :func:`merge_reports` over the live members and steps."""
        with self._lock:
            return self._merged()

    def delta(self, since: int) -> dict[str, Any]:
        """What a viewer that has seen rows up to ``since`` lacks: the newer rows, and
        the current view (merged figures, members, centroid trails, feed status)."""
        with self._lock:
            rows = []
            for row in reversed(self._rows):
                if row["seq"] <= since:
                    break
                rows.append(row)
            rows.reverse()
            return {
                "seq": self.seq,
                "seconds": self.seconds,
                "rows": rows,
                "now": self._merged(),
                "trails": {k: list(v) for k, v in self._trails.items()},
                "last_ts": self.last_ts,
                "reports": self.reports,
                "error": self.error,
            }

    # -- internals (called with the lock held) -------------------------------------------
    def _merged(self) -> dict[str, Any]:
        return merge_reports([*self._members.values(), *self._steps.values()])

    def _evict(self) -> None:
        assert self.last_ts is not None
        limit = self.last_ts - self.stale_after
        for m in [m for m, r in self._members.items() if r["ts"] < limit]:
            del self._members[m]
        for s in [s for s, r in self._steps.items() if r["ts"] < limit]:
            del self._steps[s]
        while self._rows and self._rows[0]["t"] < self.last_ts - self.seconds:
            self._rows.popleft()

    def _append_row(self, t: int) -> None:
        merged = self._merged()
        values: dict[str, float] = {}
        for f in _RUN_SERIES:
            v = merged.get(f)
            if _is_number(v):
                values[f] = v
        values["members"] = len(merged["members"])
        lag = merged.get("lag") or {}
        for part, n in lag.items():
            if _is_number(n):
                values[f"lag:{part}"] = n
        values["lag_total"] = sum(v for v in lag.values() if _is_number(v))
        for key, figures in merged["steps"].items():
            for name, v in _scalars(figures):
                values[f"{key}:{name}"] = v
        self.seq += 1
        if self._rows and self._rows[-1]["t"] >= t:
            t = self._rows[-1]["t"]  # a late report updates the newest second
            self._rows.pop()
        self._rows.append({"seq": self.seq, "t": t, "v": values})

    def _track_centroids(self, key: str, figures: Any, ts: float) -> None:
        if not isinstance(figures, Mapping) or not figures.get("centroids"):
            return
        trail = self._trails.setdefault(key, deque(maxlen=self._trail))
        if trail and trail[-1][1] == figures["centroids"]:
            return
        trail.append([ts, figures["centroids"]])


def _step_key(step: str, partition: Any) -> str:
    return f"{step}[{partition}]" if partition is not None else step


def _is_number(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _scalars(figures: Any) -> Iterable[tuple[str, float]]:
    """Numeric top-level figures, and those of the prequential ``window``; a bare
    number (a key of ``ctx.metrics`` without a partition, e.g. ``predict.version``) is
    the figure ``value``.

    Examples
    --------
    >>> list(_scalars({"acc": 0.5, "window": {"acc": 0.4}, "counts": [1], "ok": True}))
    [('acc', 0.5), ('window.acc', 0.4)]
    >>> list(_scalars(3))
    [('value', 3)]
    """
    if _is_number(figures):
        yield "value", figures
        return
    if not isinstance(figures, Mapping):
        return
    for name, v in figures.items():
        if _is_number(v):
            yield str(name), v
        elif name in _NESTED and isinstance(v, Mapping):
            for sub, w in v.items():
                if _is_number(w):
                    yield f"{name}.{sub}", w
