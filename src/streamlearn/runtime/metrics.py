"""The metrics feed: one typed report per step and partition, published by the runtime.

Operators do not write metrics anywhere: a step records its figures in
``ctx.metrics["<step>[<partition>]"]`` (a JSON-able dict: a learner's prequential
accuracy, k-means centroids, pending labels...). Every ``metrics_interval`` seconds the
runtime publishes, to ``<name>.metrics`` (one partition, keyed by what it describes):

- one ``kind="run"`` report per member: records in/out, dead letters, rates, batch and
  end-to-end latency, consumer lag per partition;
- one ``kind="step"`` report per step and partition with the step's own figures.

:func:`merge_reports` folds the reports of many partitions and workers into one view
(the dashboard and ``streamlearn`` tools read the topic through it); the same figures
are served to Prometheus by :func:`serve_prometheus`.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from streamlearn.core.extras import require
from streamlearn.runtime.stats import RunStats

log = logging.getLogger("streamlearn.runtime")
_RUN_FIELDS = (
    "records_in",
    "records_out",
    "records_filtered",
    "dead_lettered",
    "records_buffered",
    "batches",
    "commits",
    "in_rate",
    "out_rate",
    "last_batch_ms",
    "elapsed_s",
    "paused_partitions",
    "sink_pauses",
    "paused_s",
)


def member_id() -> str:
    """This process, as a member of its pipeline (host and pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_report(
    pipeline: str, member: str, stats: RunStats, lag: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """The run-level report of one member.

    Examples
    --------
    >>> r = run_report("s1", "h:1", RunStats(records_in=5))
    >>> r["kind"], r["records_in"]
    ('run', 5)
    """
    report: dict[str, Any] = {
        "kind": "run",
        "pipeline": pipeline,
        "member": member,
        "ts": time.time(),
    }
    report.update({f: getattr(stats, f) for f in _RUN_FIELDS})
    for extra in ("e2e_p50_ms", "e2e_p99_ms"):
        if hasattr(stats, extra):
            report[extra] = getattr(stats, extra)
    report["partitions"] = list(stats.partitions)
    report["lag"] = dict(lag or {})
    report["sink_away"] = stats.sink_away
    return report


def step_reports(pipeline: str, member: str, metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One report per ``"<step>[<partition>]"`` entry of ``ctx.metrics``.

    Examples
    --------
    >>> step_reports("s1", "h:1", {"km[0]": {"centroids": [[1.0]]}})[0]["partition"]
    0
    """
    out = []
    now = time.time()
    for key, figures in metrics.items():
        step, _, part = key.rpartition("[")
        partition = int(part.rstrip("]")) if part.rstrip("]").isdigit() else None
        out.append(
            {
                "kind": "step",
                "pipeline": pipeline,
                "member": member,
                "ts": now,
                "step": step or key,
                "partition": partition,
                "figures": figures,
            }
        )
    return out


def merge_reports(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Fold reports of many members and partitions into one view: the newest report of
    each (member) and (step, partition) wins; counters and rates are summed over
    members, latencies take the maximum, lag is kept per topic partition.

    Examples
    --------
    >>> a = run_report("p", "a", RunStats(records_in=3, last_batch_ms=2.0))
    >>> b = run_report("p", "b", RunStats(records_in=4, last_batch_ms=5.0))
    >>> m = merge_reports([a, b])
    >>> m["records_in"], m["last_batch_ms"], sorted(m["members"])
    (7, 5.0, ['a', 'b'])
    """
    members: dict[str, Mapping[str, Any]] = {}
    steps: dict[tuple[str, int | None], Mapping[str, Any]] = {}
    for r in reports:
        if r.get("kind") == "run":
            old = members.get(r["member"])
            if old is None or r["ts"] >= old["ts"]:
                members[r["member"]] = r
        elif r.get("kind") == "step":
            key = (r["step"], r.get("partition"))
            old = steps.get(key)
            if old is None or r["ts"] >= old["ts"]:
                steps[key] = r
    merged: dict[str, Any] = {"members": sorted(members)}
    for f in _RUN_FIELDS:
        values = [m.get(f, 0) or 0 for m in members.values()]
        if f in ("last_batch_ms", "elapsed_s", "paused_s"):
            merged[f] = max(values, default=0)
        else:
            merged[f] = sum(values)
    for f in ("e2e_p50_ms", "e2e_p99_ms"):
        values = [m[f] for m in members.values() if m.get(f) is not None]
        merged[f] = max(values) if values else None
    merged["lag"] = {k: v for m in members.values() for k, v in m.get("lag", {}).items()}
    merged["sink_away"] = sorted({m["sink_away"] for m in members.values() if m.get("sink_away")})
    merged["steps"] = {
        f"{s}[{p}]" if p is not None else s: r["figures"]
        for (s, p), r in sorted(steps.items(), key=lambda kv: str(kv[0]))
    }
    return merged


class MetricsPublisher:
    """Produces the reports of one member every ``interval`` seconds."""

    def __init__(
        self, emit: Callable[[bytes, bytes], None], *, pipeline: str, interval: float = 1.0
    ) -> None:
        self.emit = emit
        self.pipeline = pipeline
        self.member = member_id()
        self.interval = interval
        self._last = 0.0
        self.published = 0

    def maybe_publish(
        self,
        now: float,
        stats: RunStats,
        metrics: Mapping[str, Any],
        lag: Callable[[], Mapping[str, int]] | None = None,
        *,
        force: bool = False,
    ) -> bool:
        if not force and now - self._last < self.interval:
            return False
        self._last = now
        run = run_report(self.pipeline, self.member, stats, lag() if lag else None)
        self.emit(f"run/{self.member}".encode(), orjson.dumps(run))
        for r in step_reports(self.pipeline, self.member, metrics):
            self.emit(
                f"step/{r['step']}[{r['partition']}]".encode(),
                orjson.dumps(r, option=orjson.OPT_SERIALIZE_NUMPY),
            )
        self.published += 1
        return True


def serve_prometheus(
    port: int,
    source: Callable[[], tuple[RunStats, Mapping[str, Any]]],
    *,
    pipeline: str,
    addr: str = "127.0.0.1",
) -> Any:
    """Serve ``/metrics`` for Prometheus on ``addr:port`` with the run's figures.

    Counters are ``streamlearn_records_in_total`` etc., gauges the rates, latencies,
    the pause while a sink's database is away (``streamlearn_paused_partitions``), the
    consumer lag (``streamlearn_consumer_lag{topic=,partition=}``) and every numeric
    figure of a step (``streamlearn_step{step=,partition=,figure=}``; a run-wide figure
    such as a model's version or a variant's count has an empty ``partition``);
    ``pipeline`` is a label. Returns the HTTP server (``.shutdown()`` stops it).
    """
    prom = require("prometheus_client", extra="metrics", feature="--metrics-port")
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    class _Collector:
        def collect(self) -> Iterable[Any]:
            stats, metrics = source()
            for f in (
                "records_in",
                "records_out",
                "records_filtered",
                "dead_lettered",
                "batches",
                "commits",
                "sink_pauses",
            ):
                c = CounterMetricFamily(f"streamlearn_{f}", f"{f} of the run", labels=["pipeline"])
                c.add_metric([pipeline], float(getattr(stats, f)))
                yield c
            for f in (
                "in_rate",
                "out_rate",
                "last_batch_ms",
                "records_buffered",
                "e2e_p50_ms",
                "e2e_p99_ms",
                "paused_partitions",
                "paused_s",
            ):
                value = getattr(stats, f, None)
                if value is None:
                    continue
                g = GaugeMetricFamily(f"streamlearn_{f}", f"{f} of the run", labels=["pipeline"])
                g.add_metric([pipeline], float(value))
                yield g
            lag = GaugeMetricFamily(
                "streamlearn_consumer_lag",
                "records behind the log end per input partition",
                labels=["pipeline", "topic", "partition"],
            )
            for key, behind in dict(stats.lag).items():
                topic, _, part = key.rpartition("[")
                lag.add_metric([pipeline, topic, part.rstrip("]")], float(behind))
            yield lag
            g = GaugeMetricFamily(
                "streamlearn_step",
                "numeric figures of each step",
                labels=["pipeline", "step", "partition", "figure"],
            )
            for key, figures in metrics.items():
                step, _, part = key.rpartition("[")
                if not step:  # a run-wide figure ("model.version.champion"): no partition
                    step, part = key, ""
                if not isinstance(figures, Mapping):  # a bare number: one figure
                    figures = {"value": figures}
                for name, value in _numbers(figures):
                    g.add_metric([pipeline, step, part.rstrip("]"), name], value)
            yield g

    registry = prom.CollectorRegistry()
    registry.register(_Collector())
    server, _thread = prom.start_http_server(port, addr=addr, registry=registry)
    log.info("Prometheus metrics on http://%s:%d/metrics", addr, port)
    return server


def _numbers(figures: Mapping[str, Any], depth: int = 2) -> Iterable[tuple[str, float]]:
    """Numeric figures, lists flattened (``counts[1]``, ``centroids[0][1]``).

    Examples
    --------
    >>> list(_numbers({"acc": 0.5, "counts": [3, 4], "name": "x", "ok": True}))
    [('acc', 0.5), ('counts[0]', 3.0), ('counts[1]', 4.0)]
    """

    def walk(name: str, value: Any, level: int) -> Iterable[tuple[str, float]]:
        if isinstance(value, bool) or value is None:
            return
        if isinstance(value, (int, float)):
            yield name, float(value)
        elif isinstance(value, (list, tuple)) and level < depth:
            for i, v in enumerate(value):
                yield from walk(f"{name}[{i}]", v, level + 1)

    for name, value in figures.items():
        yield from walk(name, value, 0)
