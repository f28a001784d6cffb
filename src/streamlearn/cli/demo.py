"""``streamlearn demo``: a scenario live on a local broker, in one command.

The scenarios live in ``streamlearn.demo`` behind one protocol; this command does what
is common to all: the broker (stopped on every way out: the end of a bounded run,
Ctrl-C, SIGTERM, SIGHUP when the terminal closes, an error), the feeder thread, the
runner, the live view (``cli/live.py``) and the summary.
"""

from __future__ import annotations

import gc
import threading
import time
import uuid
from typing import Annotated, Any

import typer
from rich.console import Console

from streamlearn.cli.common import (
    Bootstrap,
    ensure_reachable,
    err_console,
    graceful_stop,
    kafka_config,
    print_json_line,
)

__all__ = ["demo"]

_SCENARIO_HELP = (
    "trades-clusters (default): online k-means over a stream of trades; "
    "late-labels: online classification, each label arriving 0-200 records "
    "after its event; temperature-regimes: a model trained offline (elbow, k-means, "
    "MLP, ONNX, registry) scores a machine's temperature. (s1, s2 and s4 are accepted "
    "as aliases.)"
)


def demo(
    scenario: Annotated[str, typer.Option(help=_SCENARIO_HELP)] = "trades-clusters",
    records: Annotated[
        int | None,
        typer.Option(
            help="Produce this many records (late-labels: events, each with its label), "
            "process them all, print the result and exit. Default: a live stream until "
            "Ctrl-C."
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object with the counts and the model as the last line."
        ),
    ] = False,
    rate: Annotated[
        float, typer.Option(help="Records (late-labels: events) per second of the stream.")
    ] = 20_000,
    bad_fraction: Annotated[
        float,
        typer.Option(help="Share of malformed records mixed in, to show the dead-letter topic."),
    ] = 0.001,
    window: Annotated[float, typer.Option(help="Seconds of the timer window.")] = 1.0,
    buffer_size: Annotated[
        int, typer.Option(help="Records buffered before the k-means fit.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed of the generated stream.")] = 0,
    dashboard: Annotated[
        bool | None,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="Serve the live web board of the run (default: on, except with --json); "
            "its address is printed.",
        ),
    ] = None,
    dashboard_port: Annotated[
        int, typer.Option(help="Port of the board (another free one when it is taken).")
    ] = 8050,
    bootstrap: Bootstrap = None,
) -> None:
    """Run a demo scenario live: a local broker, a generated stream, a learning pipeline.

    Starts the local Kafka-protocol broker (unless --bootstrap is given; it is stopped
    again on exit) and creates the topics. trades-clusters (default) produces JSON trades
    whose bid/ask come from 3 Gaussian clusters and runs: decode.json | window.timer |
    ml.sequential_k_means | sql(cluster = 0) | write.to_kafka, showing rates, latency,
    centroids and records per cluster. late-labels produces events and, 0-200 records
    later, their labels, and runs an online passive-aggressive classifier that predicts
    each event at once and learns from its label when it comes, showing the live
    prequential accuracy, per-class F1 and the events waiting for labels (the metrics also
    stream to the `metrics` topic). temperature-regimes trains the S2 model first (a few
    seconds), then scores the replayed readings; its board also plots the temperature and
    the predicted regime over time. The live board (`streamlearn dashboard`) is served on
    http://127.0.0.1:8050/ while the demo runs (--no-dashboard: not).

    Examples:

        streamlearn demo

        streamlearn demo --scenario late-labels --records 20000 --json
    """
    from streamlearn.demo import DemoSettings, make_scenario

    if records is not None and records < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--records")
    if not 0 <= bad_fraction < 1:
        raise typer.BadParameter("must be in [0, 1)", param_hint="--bad-fraction")
    if rate <= 0:
        raise typer.BadParameter("must be > 0", param_hint="--rate")
    settings = DemoSettings(
        records=records,
        rate=rate,
        seed=seed,
        bad_fraction=bad_fraction,
        window=window,
        buffer_size=buffer_size,
    )
    run_id = uuid.uuid4().hex[:8]
    # with a cluster of the user's own, fresh topic names: never mix with an earlier run
    chosen = make_scenario(scenario, settings, "" if bootstrap is None else f"-{run_id}")
    console = err_console if json_out else Console()
    stopping = threading.Event()
    runner_box: list[Any] = []
    view_box: list[Any] = []

    def stop() -> None:
        stopping.set()
        for runner in runner_box:
            runner.stop()

    def said_stop(signame: str) -> None:
        if view_box:
            view_box[0].stopping(f"{signame}: stopping...")
        else:
            console.print(f"{signame}: stopping...")

    broker = None
    with graceful_stop(stop, said_stop):
        try:
            if bootstrap is None:
                from streamlearn.kafka.config import KafkaConfig
                from streamlearn.kafka.local_broker import LocalBroker

                with console.status("Starting the local broker..."):
                    broker = LocalBroker()
                    broker.start()
                config = KafkaConfig.for_local_broker(broker.bootstrap)
                console.print(f"Local broker on [bold]{broker.bootstrap}[/] (stopped on exit)")
            else:
                config = kafka_config(bootstrap)
                ensure_reachable(config)
            if stopping.is_set():
                raise typer.Exit(130)
            result = _run(
                chosen,
                config,
                console,
                live=not json_out,
                name=run_id,
                stopping=stopping,
                runner_box=runner_box,
                view_box=view_box,
                board=(not json_out) if dashboard is None else dashboard,
                board_port=dashboard_port,
            )
        finally:
            # no client may outlive the broker: a live one logs "Connection refused"
            runner_box.clear()
            gc.collect()
            if broker is not None:
                broker.stop()
    if json_out:
        print_json_line(result)


def _run(
    scenario: Any,
    config: Any,
    console: Console,
    *,
    live: bool,
    name: str,
    stopping: threading.Event,
    runner_box: list[Any],
    view_box: list[Any],
    board: bool = False,
    board_port: int = 8050,
) -> dict[str, Any]:
    from streamlearn.cli.live import LiveView
    from streamlearn.runtime.options import RunOptions
    from streamlearn.runtime.runner import Runner

    _prepare(scenario, config, console)
    run_name = f"demo-{scenario.name}-{name}"
    view = None
    if live:
        outs = ", ".join(v for k, v in scenario.topics.items() if k not in ("in", "out"))
        title = (
            f"streamlearn demo: {scenario.title}  ·  "
            f"{scenario.topics.get('in', outs)} -> {scenario.topics['out']}"
        )
        view = LiveView(console, title, scenario.view)
        view_box.append(view)
    runner = Runner(
        scenario.pipeline(),
        kafka=config,
        options=RunOptions(
            name=run_name,
            max_records=scenario.max_records(),
            commit_interval=1.0,
        ),
        on_progress=view.update if view else None,
        progress_interval=0.25,
    )
    runner_box.append(runner)
    if stopping.is_set():
        runner.stop()
    feeder = threading.Thread(
        target=scenario.feed, args=(config, stopping, runner), name="demo-feeder", daemon=True
    )
    dashboard = _start_board(config, run_name, scenario, console, board_port) if board else None
    if view is not None and dashboard is not None:
        view.subtitle = f"dashboard {dashboard.url}  ·  {view.subtitle}"
    started = time.monotonic()
    feeder.start()
    try:
        if view is not None:
            with view:
                stats = runner.run()
        else:
            stats = runner.run()
    except KeyboardInterrupt:  # a second Ctrl-C: leave now
        stats = runner.stats
    finally:
        stopping.set()
        feeder.join(timeout=35)
        if dashboard is not None:
            dashboard.stop()
    result = {
        **scenario.summary(stats),
        "elapsed_s": round(time.monotonic() - started, 3),
        "topics": scenario.topics,
    }
    del runner
    return result


def _prepare(scenario: Any, config: Any, console: Console) -> None:
    """The scenario's topics (and, for temperature-regimes, its offline training): a
    status line while it works, since it can take seconds."""
    doing = getattr(scenario, "preparing", "Creating the topics...")
    if console.is_terminal:
        with console.status(doing):
            scenario.create_topics(config)
    else:
        console.print(doing, highlight=False, soft_wrap=True)
        scenario.create_topics(config)
    done = getattr(scenario, "prepared", None)
    if done is not None:
        console.print(done(), highlight=False)


def _start_board(config: Any, name: str, scenario: Any, console: Console, port: int) -> Any:
    """The live web board of the run, on ``port`` or a free one; ``None`` (with a hint)
    when the extra is not installed."""
    from streamlearn.core.errors import ConfigError
    from streamlearn.core.extras import MissingExtraError
    from streamlearn.dashboard import Dashboard

    series = getattr(scenario, "series", ())
    try:
        try:
            board = Dashboard(config, name, port=port, series=series).start()
        except MissingExtraError:
            raise
        except ConfigError:  # the port is taken (another board): any free one
            board = Dashboard(config, name, port=0, series=series).start()
    except MissingExtraError as exc:
        console.print(f"No live board: {exc}", highlight=False, markup=False)
        return None
    console.print(f"Live dashboard on [bold]{board.url}[/] (while the demo runs)")
    return board
