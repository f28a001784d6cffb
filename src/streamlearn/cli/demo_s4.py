"""``streamlearn demo --scenario s4``: online learning with delayed labels, live."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from streamlearn.cli.demo import run_live
from streamlearn.runtime.stats import RunStats


def run_s4(config: Any, topics: dict[str, str], *, records: int | None, rate: float,
           seed: int, console: Console, live: bool, name: str) -> dict[str, Any]:
    """Produce events and their late labels, run the S4 pipeline on them, report."""
    from streamlearn.data.s4 import s4_pipeline
    from streamlearn.kafka.admin import ensure_topics
    from streamlearn.runtime.options import RunOptions
    from streamlearn.runtime.runner import Runner

    ensure_topics(config, {topics["events"]: 1, topics["labels"]: 1})
    stop = threading.Event()
    produced = [0]
    view = _View(topics, produced) if live else None
    runner = Runner(s4_pipeline(topics["events"], topics["labels"], topics["out"],
                                metrics_topic=topics["metrics"]),
                    kafka=config,
                    options=RunOptions(name=name, max_records=2 * records if records else None),
                    on_progress=view.update if view else None, progress_interval=0.25)
    feeder = threading.Thread(target=_feed, daemon=True,
                              args=(config, topics, records, rate, seed, stop, produced,
                                    runner))
    started = time.monotonic()
    stats = run_live(runner, view, console, feeder, stop)
    report = _report(stats)
    return {"records_in": stats.records_in, "predictions_out": stats.records_out,
            "labels": report.get("labels", 0), "learned": report.get("learned", 0),
            "accuracy": report.get("accuracy"),
            "accuracy_window": report.get("window", {}).get("accuracy"),
            "macro_f1": report.get("macro_f1"),
            "pending_events": report.get("pending_events", 0),
            "waiting_labels": report.get("waiting_labels", 0),
            "dead_lettered": stats.dead_lettered,
            "elapsed_s": round(time.monotonic() - started, 3), "topics": topics}


def _report(stats: RunStats | None) -> dict[str, Any]:
    if stats is None or not stats.metrics:
        return {}
    return next((v for k, v in stats.metrics.items() if k.startswith("model[")), {})


def _feed(config: Any, topics: dict[str, str], records: int | None, rate: float, seed: int,
          stop: threading.Event, produced: list[int], runner: Any) -> None:
    """Events and labels in arrival order, at ``rate`` events per second, from the moment
    the pipeline owns its partitions: a live stream, not a backlog (from a backlog the
    reader fetches events and labels in large chunks, topic by topic, so many events
    would be predicted before labels that were produced before them)."""
    from confluent_kafka import Producer

    from streamlearn.data.s4 import arrival_order
    from streamlearn.kafka.produce import produce

    deadline = time.monotonic() + 60
    while not runner.stats.partitions and time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.05)
    producer = Producer(config.producer_config())
    where = {"event": topics["events"], "label": topics["labels"]}
    chunk = max(1, int(rate / 10))
    total = part = 0
    while not stop.is_set() and (records is None or total < records):
        n = chunk if records is None else min(chunk, records - total)
        for kind, key, value in arrival_order(n, start=total, seed=seed + part):
            produce(producer, where[kind], value, key)
        producer.poll(0)
        part += 1
        total += n
        produced[0] = total
        time.sleep(max(0.0, n / rate - 0.002))
    producer.flush(30)


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


class _View:
    """The live terminal view: rates, prequential metrics, the join's bookkeeping."""

    def __init__(self, topics: dict[str, str], produced: list[int]) -> None:
        self.topics = topics
        self.produced = produced
        self.live: Live | None = None

    def update(self, stats: RunStats) -> None:
        if self.live is not None:
            self.live.update(self.render(stats))

    def render(self, stats: RunStats | None) -> Panel:
        s = stats or RunStats()
        r = _report(stats)
        win = r.get("window", {})
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold cyan")
        t.add_column(justify="right")
        t.add_row("events produced", f"{self.produced[0]:,}")
        t.add_row("records in (events + labels)", f"{s.records_in:,}  ({s.in_rate:,.0f}/s)")
        t.add_row("predictions out", f"{s.records_out:,}  ({s.out_rate:,.0f}/s)")
        t.add_row("labels learned", f"{r.get('learned', 0):,}")
        t.add_row("accuracy (since start)", _fmt(r.get("accuracy")))
        t.add_row("accuracy (last 1,000)", _fmt(win.get("accuracy")))
        t.add_row("macro F1 (last 1,000)", _fmt(win.get("macro_f1")))
        t.add_row("events waiting for labels", f"{r.get('pending_events', 0):,}")
        t.add_row("labels waiting for events", f"{r.get('waiting_labels', 0):,}")
        t.add_row("expired / duplicate labels",
                  f"{r.get('expired_labels', 0):,} / {r.get('duplicate_labels', 0):,}")
        t.add_row("model updates", f"{r.get('model_updates', 0):,}")
        t.add_row("dead-lettered", f"{s.dead_lettered:,}")
        t.add_row("batch latency", f"{s.last_batch_ms:.1f} ms")
        c = Table(title="per class (since start)", show_edge=False)
        for col in ("class", "precision", "recall", "F1", "support"):
            c.add_column(col, justify="right" if col != "class" else "left")
        for label, m in sorted(r.get("per_class", {}).items()):
            c.add_row(label, _fmt(m["precision"]), _fmt(m["recall"]), _fmt(m["f1"]),
                      f"{m['support']:,}")
        return Panel(Group(t, c), title=f"streamlearn demo s4: {self.topics['events']} + "
                     f"{self.topics['labels']} -> {self.topics['out']}",
                     subtitle=f"metrics stream: {self.topics['metrics']}  ·  Ctrl-C to stop")
