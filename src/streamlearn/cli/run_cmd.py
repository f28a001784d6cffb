"""``streamlearn run``: run a pipeline defined in Python."""

from __future__ import annotations

import enum
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from streamlearn.cli.common import (
    Bootstrap,
    KafkaOption,
    SaslPassword,
    SaslUser,
    ensure_reachable,
    err_console,
    graceful_stop,
    kafka_config,
    print_json_line,
)
from streamlearn.core.errors import ConfigError
from streamlearn.core.pipeline import Pipeline

__all__ = [
    "Delivery",
    "load_pipeline",
    "metric_line",
    "model_summary",
    "run_command",
    "summary_line",
]


class Delivery(str, enum.Enum):
    """The delivery guarantees ``--delivery`` accepts."""

    at_least_once = "at-least-once"
    exactly_once = "exactly-once"


def load_pipeline(target: str) -> Pipeline:
    """Load ``module:attribute`` or ``path/to/file.py:attribute`` (default ``pipeline``).

    The attribute may be a Pipeline or a function returning one. A module name is looked
    up in the current directory first, as ``python -m`` would. Every mistake is a one-line
    ``ConfigError``.

    Examples
    --------
    >>> load_pipeline("pipes.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    streamlearn.core.errors.ConfigError: YAML pipelines are not supported yet: ...
    """
    module_name, _, attr = target.partition(":")
    attr = attr or "pipeline"
    if module_name.lower().endswith((".yaml", ".yml", ".json", ".toml")):
        raise ConfigError(
            "YAML pipelines are not supported yet: give a Python pipeline as "
            f"module:attribute or file.py:attribute ({module_name})"
        )
    if module_name.endswith(".py") or Path(module_name).is_file():
        path = Path(module_name)
        if not path.is_file():
            raise ConfigError(f"no such file: {path}")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot load {path} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent.resolve()))
        spec.loader.exec_module(module)
    else:
        cwd = os.getcwd()
        if cwd not in sys.path and "" not in sys.path:
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                raise ConfigError(
                    f"cannot import {module_name!r}: no such module in {cwd} or on the Python path"
                ) from exc
            raise
    obj: Any = getattr(module, attr, None)
    if obj is None:
        raise ConfigError(f"{module_name!r} has no attribute {attr!r}")
    if callable(obj) and not isinstance(obj, Pipeline):
        obj = obj()
    if not isinstance(obj, Pipeline):
        raise ConfigError(f"{target} is a {type(obj).__name__}, not a pipeline")
    return obj


def run_command(
    target: Annotated[
        str,
        typer.Argument(
            help="The pipeline: module:attribute or file.py:attribute (default attribute "
            "`pipeline`; may be a function returning a pipeline)."
        ),
    ],
    name: Annotated[
        str,
        typer.Option(
            envvar="STREAMLEARN_NAME",
            help="Pipeline name: consumer group and prefix of its state and dead-letter topics.",
        ),
    ] = "streamlearn",
    delivery: Annotated[
        Delivery,
        typer.Option(
            envvar="STREAMLEARN_DELIVERY",
            help="at-least-once, or exactly-once (Kafka transactions).",
        ),
    ] = Delivery.at_least_once,
    max_records: Annotated[
        int | None, typer.Option(help="Stop after this many input records.")
    ] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many seconds without input.")
    ] = None,
    commit_interval: Annotated[
        float, typer.Option(envvar="STREAMLEARN_COMMIT_INTERVAL", help="Seconds between commits.")
    ] = 1.0,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the final counts as one JSON line.")
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            envvar="STREAMLEARN_METRICS_PORT",
            help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics.",
        ),
    ] = None,
    reset_state: Annotated[
        list[str] | None,
        typer.Option(
            help="Drop the saved state of this step at start (repeatable): for a step "
            "renamed, removed or to be retrained from nothing."
        ),
    ] = None,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
) -> None:
    """Run a pipeline defined in Python on Kafka until stopped.

    TARGET names the pipeline: `module:attribute` (a module in the current directory or
    on the Python path) or `path/to/file.py:attribute`; the attribute (default
    `pipeline`) is a Pipeline or a function returning one. Ctrl-C or SIGTERM commit and
    exit cleanly; a summary is printed at the end (`--json`: one JSON line).

    Example:

        streamlearn broker start

        streamlearn run my_pipelines.py:pipeline --name s1 --max-records 100000
    """
    from streamlearn.runtime.options import RunOptions
    from streamlearn.runtime.runner import Runner

    if commit_interval <= 0:
        raise typer.BadParameter("must be > 0 (seconds)", param_hint="--commit-interval")
    if max_records is not None and max_records < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--max-records")
    if idle_timeout is not None and idle_timeout <= 0:
        raise typer.BadParameter("must be > 0 (seconds)", param_hint="--idle-timeout")
    if metrics_port is not None and not 0 < metrics_port < 65536:
        raise typer.BadParameter("must be a TCP port (1-65535)", param_hint="--metrics-port")
    pipeline = load_pipeline(target)
    config = kafka_config(bootstrap, kafka_option, sasl_username, sasl_password)
    options = RunOptions(
        name=name,
        delivery=delivery.value,
        max_records=max_records,
        idle_timeout=idle_timeout,
        commit_interval=commit_interval,
        metrics_port=metrics_port,
        reset_state=tuple(reset_state or ()),
    )
    console = err_console if json_out else Console()

    def show(stats: Any) -> None:
        if not stats.partitions and not stats.records_in:  # the group join can take seconds
            console.print(
                f"joining group {runner.group!r} ({stats.elapsed_s:.0f} s) ...", highlight=False
            )
            return
        console.print(
            f"in {stats.records_in:,} ({stats.in_rate:,.0f}/s)  "
            f"out {stats.records_out:,}  dead {stats.dead_lettered:,}  "
            f"batch {stats.last_batch_ms:.1f} ms",
            highlight=False,
        )
        if stats.sink_away:  # runtime/backpressure.py: the input waits for the database
            console.print(
                f"  paused {stats.paused_partitions} partitions for {stats.paused_s:.0f} s: "
                f"{stats.sink_away}",
                highlight=False,
            )
        for step, report in sorted(stats.metrics.items()):
            line = metric_line(report)
            if line:
                console.print(f"  {step}: {line}", highlight=False)

    ensure_reachable(config)
    runner = Runner(
        pipeline, kafka=config, options=options, on_progress=show, progress_interval=5.0
    )
    console.print(
        f"[bold]{name}[/]: {', '.join(runner.topics)} on {config.bootstrap_servers}"
        f"  (group {runner.group}, {options.delivery})",
        highlight=False,
    )

    def stopping(signame: str) -> None:
        console.print(f"{signame}: stopping (committing first)...", highlight=False)

    with graceful_stop(runner.stop, stopping):
        try:
            stats = runner.run()
        except KeyboardInterrupt:  # a second Ctrl-C: leave at once
            stats = runner.stats
    if json_out:
        print_json_line(stats.as_dict())
    else:
        console.print(summary_line(stats), highlight=False)


def summary_line(stats: Any) -> str:
    """The line ``run`` prints at the end.

    >>> from streamlearn.runtime.stats import RunStats
    >>> summary_line(RunStats(records_in=10, records_out=7, records_filtered=2,
    ...                       dead_lettered=1, elapsed_s=1.5))
    'done: 10 in, 7 out, 2 filtered, 1 dead-lettered in 1.5 s'
    """
    return (
        f"done: {stats.records_in:,} in, {stats.records_out:,} out, "
        f"{stats.records_filtered:,} filtered, {stats.dead_lettered:,} dead-lettered "
        f"in {stats.elapsed_s:,.1f} s"
    )


#: the live model figures worth a line of the progress output, in this order
SUMMARY_FIELDS = (
    "accuracy",
    "macro_f1",
    "log_loss",
    "mae",
    "rmse",
    "r2",
    "learned",
    "pending_events",
    "waiting_labels",
    "model_updates",
    "seen",
)


def metric_line(value: Any) -> str:
    """A run metric as the progress output shows it: a step's report (a dict) as
    :func:`model_summary`, a plain figure (``predict.version``, a count, the last load
    error) as it is.

    >>> metric_line({"learned": 5}), metric_line(3), metric_line("no such model")
    ('learned 5', '3', 'no such model')
    """
    if isinstance(value, dict):
        return model_summary(value)
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def model_summary(report: dict[str, Any]) -> str:
    """One line of a step's live metrics (online learners, k-means).

    >>> model_summary({"accuracy": 0.9512, "window": {"accuracy": 0.97}, "learned": 1200})
    'accuracy 0.951 (last window 0.970)  learned 1,200'
    >>> model_summary(3)
    ''
    """
    if not isinstance(report, dict):
        return ""
    parts = []
    for name in SUMMARY_FIELDS:
        value = report.get(name)
        if isinstance(value, bool) or value is None or not isinstance(value, (int, float)):
            continue
        text = f"{name} {value:,}" if isinstance(value, int) else f"{name} {value:.3f}"
        recent = (report.get("window") or {}).get(name)
        if isinstance(recent, float):
            text += f" (last window {recent:.3f})"
        parts.append(text)
    return "  ".join(parts)
