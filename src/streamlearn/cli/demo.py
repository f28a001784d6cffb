"""``streamlearn demo``: scenario S1 (or S4) live on a local broker, in one command."""

from __future__ import annotations

import random
import threading
import time
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from streamlearn.cli.common import Bootstrap, err_console, kafka_config, print_json_line
from streamlearn.runtime.stats import RunStats

BAD_RECORDS = [b'{"time": "2026-01-01T00:00:00", "sym": "X", "bid": 1.0',  # truncated
               b"\x00\xff garbage", b'{"sym": "X", "bid": "high", "ask": 1.0}', b""]


def demo(
    scenario: Annotated[str, typer.Option(
        help="s1: online k-means over trades (kdb Insights); s4: online classification "
             "with labels arriving late (Kafka Streams / Radicalbit).")] = "s1",
    records: Annotated[int | None, typer.Option(
        help="Produce this many trades, process them all, print the result and exit. "
             "Default: a live stream until Ctrl-C.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object with the "
                                            "counts and centroids as the last line.")] = False,
    rate: Annotated[float, typer.Option(help="Trades (s4: events) per second of the live "
                                        "stream.")] = 20_000,
    bad_fraction: Annotated[float, typer.Option(
        help="Share of malformed records mixed in, to show the dead-letter topic.")] = 0.001,
    window: Annotated[float, typer.Option(help="Seconds of the timer window.")] = 1.0,
    buffer_size: Annotated[int, typer.Option(help="Records buffered before the k-means fit.")]
    = 1000,
    seed: Annotated[int, typer.Option(help="Random seed of the generated stream.")] = 0,
    bootstrap: Bootstrap = None,
) -> None:
    """Run a scenario live: a local broker, a generated stream, a learning pipeline.

    Starts the local Kafka-protocol broker (unless --bootstrap is given) and creates the
    topics. S1 (default) produces JSON trades whose bid/ask come from 3 Gaussian clusters
    and runs: decode.json | window.timer | ml.sequential_k_means | sql(cluster = 0) |
    write.to_kafka, showing rates, latency, centroids and records per cluster. S4 produces
    events and, 0-200 records later, their labels, and runs an online passive-aggressive
    classifier that predicts each event at once and learns from its label when it comes,
    showing the live prequential accuracy, per-class F1 and the events waiting for labels
    (the metrics also stream to the `metrics` topic).
    """
    from streamlearn.kafka.config import KafkaConfig
    from streamlearn.kafka.local_broker import LocalBroker

    if scenario not in ("s1", "s4"):
        raise typer.BadParameter("must be s1 or s4", param_hint="--scenario")
    if records is not None and records < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--records")
    if not 0 <= bad_fraction < 1:
        raise typer.BadParameter("must be in [0, 1)", param_hint="--bad-fraction")
    console = err_console if json_out else Console()
    broker = None
    if bootstrap is None:
        with console.status("Starting the local broker..."):
            broker = LocalBroker().start()
        config = KafkaConfig.for_local_broker(broker.bootstrap)
        console.print(f"Local broker on [bold]{broker.bootstrap}[/]")
    else:
        config = kafka_config(bootstrap)
    run_id = uuid.uuid4().hex[:8]
    suffix = "" if broker is not None else f"-{run_id}"
    try:
        if scenario == "s4":
            from streamlearn.cli.demo_s4 import run_s4

            topics = {k: f"{k}{suffix}" for k in ("events", "labels", "metrics")}
            topics["out"] = f"predictions{suffix}"
            result = run_s4(config, topics, records=records, rate=rate, seed=seed,
                            console=console, live=not json_out, name=f"demo-s4-{run_id}")
        else:
            topics = {"in": f"trades{suffix}", "out": f"trades-cluster0{suffix}"}
            result = _run(config, topics, records=records, rate=rate,
                          bad_fraction=bad_fraction, window=window, buffer_size=buffer_size,
                          seed=seed, console=console, live=not json_out,
                          name=f"demo-s1-{run_id}")
    finally:
        if broker is not None:
            broker.stop()
    if json_out:
        print_json_line(result)


def _run(config: Any, topics: dict[str, str], *, records: int | None, rate: float,
         bad_fraction: float, window: float, buffer_size: int, seed: int, console: Console,
         live: bool, name: str) -> dict[str, Any]:
    from streamlearn.data.s1 import s1_pipeline
    from streamlearn.kafka.admin import ensure_topics
    from streamlearn.runtime.runner import Runner

    ensure_topics(config, {topics["in"]: 1})
    stop = threading.Event()
    produced = [0]
    feeder = threading.Thread(target=_feed, daemon=True,
                              args=(config, topics["in"], records, rate, bad_fraction, seed,
                                    stop, produced))
    view = _View(console, topics, produced) if live else None
    runner = Runner(s1_pipeline(topics["in"], topics["out"], window_seconds=window,
                                buffer_size=buffer_size, seed=seed),
                    kafka=config, options=_options(name, records),
                    on_progress=view.update if view else None, progress_interval=0.25)
    started = time.monotonic()
    stats = run_live(runner, view, console, feeder, stop)
    model = next(iter(stats.metrics.values()), {}) if stats.metrics else {}
    return {"records_in": stats.records_in, "records_out": stats.records_out,
            "records_filtered": stats.records_filtered, "dead_lettered": stats.dead_lettered,
            "centroids": model.get("centroids"), "cluster_counts": model.get("counts"),
            "elapsed_s": round(time.monotonic() - started, 3),
            "topics": topics}


def run_live(runner: Any, view: Any, console: Console, feeder: threading.Thread,
             stop: threading.Event) -> RunStats:
    """Start the feeder, run the pipeline (inside a Rich ``Live`` view when there is one)
    until it ends or Ctrl-C, then stop the feeder; returns the run's stats."""
    feeder.start()
    try:
        if view is not None:
            with Live(view.render(None), console=console, refresh_per_second=4) as lv:
                view.live = lv
                return runner.run()
        return runner.run()
    except KeyboardInterrupt:
        runner.stop()
        return runner.stats
    finally:
        stop.set()
        feeder.join(timeout=10)


def _options(name: str, records: int | None) -> Any:
    from streamlearn.runtime.options import RunOptions

    return RunOptions(name=name, max_records=records, commit_interval=1.0)


def _feed(config: Any, topic: str, records: int | None, rate: float, bad_fraction: float,
          seed: int, stop: threading.Event, produced: list[int]) -> None:
    """Produce the trade stream (bounded: as fast as possible; live: at ``rate``)."""
    from confluent_kafka import Producer

    from streamlearn.data.trades import generate_trades
    from streamlearn.kafka.produce import produce_all

    producer = Producer(config.producer_config())
    rng = random.Random(seed)
    chunk = 5_000 if records is not None else max(1, int(rate / 10))
    total = 0
    part = 0
    while not stop.is_set() and (records is None or total < records):
        n = chunk if records is None else min(chunk, records - total)
        values = generate_trades(n, seed=seed + part)
        part += 1
        for i in range(len(values)):
            if bad_fraction and rng.random() < bad_fraction:
                values[i] = rng.choice(BAD_RECORDS)
        produce_all(producer, topic, values)
        producer.poll(0)
        total += n
        produced[0] = total
        if records is None:
            time.sleep(max(0.0, n / rate - 0.002))
    producer.flush(30)


class _View:
    """The live terminal view of the demo."""

    def __init__(self, console: Console, topics: dict[str, str], produced: list[int]) -> None:
        self.console = console
        self.topics = topics
        self.produced = produced
        self.live: Live | None = None

    def update(self, stats: RunStats) -> None:
        if self.live is not None:
            self.live.update(self.render(stats))

    def render(self, stats: RunStats | None) -> Panel:
        t = Table.grid(padding=(0, 2))
        t.add_column(style="bold cyan")
        t.add_column(justify="right")
        s = stats or RunStats()
        t.add_row("produced", f"{self.produced[0]:,}")
        t.add_row("records in", f"{s.records_in:,}  ({s.in_rate:,.0f}/s)")
        t.add_row("records out", f"{s.records_out:,}  ({s.out_rate:,.0f}/s)")
        t.add_row("filtered", f"{s.records_filtered:,}")
        t.add_row("in windows/buffers", f"{s.records_buffered:,}")
        t.add_row("dead-lettered", f"{s.dead_lettered:,}")
        t.add_row("batch latency", f"{s.last_batch_ms:.1f} ms")
        model = next(iter(s.metrics.values()), None) if s.metrics else None
        c = Table(title="centroids (bid, ask)", show_edge=False)
        c.add_column("cluster")
        c.add_column("bid", justify="right")
        c.add_column("ask", justify="right")
        c.add_column("records", justify="right")
        if model and model.get("centroids"):
            for i, (cent, n) in enumerate(zip(model["centroids"], model["counts"],
                                              strict=False)):
                c.add_row(str(i), f"{cent[0]:.3f}", f"{cent[1]:.3f}", f"{n:,}")
        return Panel(Group(t, c), title=f"streamlearn demo: {self.topics['in']} -> "
                     f"{self.topics['out']}", subtitle="Ctrl-C to stop")
