"""``streamlearn run``: run a pipeline defined in Python."""

from __future__ import annotations

import importlib
import importlib.util
import signal
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
    err_console,
    kafka_config,
    print_json_line,
)
from streamlearn.core.pipeline import Pipeline


def load_pipeline(target: str) -> Pipeline:
    """Load ``module:attribute`` or ``path/to/file.py:attribute`` (default ``pipeline``).

    The attribute may be a Pipeline or a function returning one.
    """
    module_name, _, attr = target.partition(":")
    attr = attr or "pipeline"
    if module_name.endswith(".py") or Path(module_name).is_file():
        path = Path(module_name)
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {path}", param_hint="TARGET")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.parent.resolve()))
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise typer.BadParameter(f"cannot import {module_name!r}: {exc}",
                                     param_hint="TARGET") from exc
    obj: Any = getattr(module, attr, None)
    if obj is None:
        raise typer.BadParameter(f"{module_name!r} has no attribute {attr!r}",
                                 param_hint="TARGET")
    if callable(obj) and not isinstance(obj, Pipeline):
        obj = obj()
    if not isinstance(obj, Pipeline):
        raise typer.BadParameter(f"{target} is a {type(obj).__name__}, not a pipeline",
                                 param_hint="TARGET")
    return obj


def run_command(
    target: Annotated[str, typer.Argument(
        help="The pipeline: module:attribute or file.py:attribute (default attribute "
             "`pipeline`; may be a function returning a pipeline).")],
    name: Annotated[str, typer.Option(envvar="STREAMLEARN_NAME", help="Pipeline name: "
                                      "consumer group and prefix of its state and "
                                      "dead-letter topics.")] = "streamlearn",
    delivery: Annotated[str, typer.Option(
        envvar="STREAMLEARN_DELIVERY",
        help="at-least-once, or exactly-once (Kafka transactions).")] = "at-least-once",
    max_records: Annotated[int | None, typer.Option(
        help="Stop after this many input records.")] = None,
    idle_timeout: Annotated[float | None, typer.Option(
        help="Stop after this many seconds without input.")] = None,
    commit_interval: Annotated[float, typer.Option(
        envvar="STREAMLEARN_COMMIT_INTERVAL", help="Seconds between commits.")] = 1.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the final counts as one "
                                           "JSON line.")] = False,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
) -> None:
    """Run a pipeline on Kafka until stopped (Ctrl-C or SIGTERM commit and exit cleanly)."""
    from streamlearn.runtime.options import RunOptions
    from streamlearn.runtime.runner import Runner

    pipeline = load_pipeline(target)
    config = kafka_config(bootstrap, kafka_option, sasl_username, sasl_password)
    options = RunOptions(name=name, delivery=delivery, max_records=max_records,
                         idle_timeout=idle_timeout, commit_interval=commit_interval)
    console = err_console if json_out else Console()

    def show(stats: Any) -> None:
        console.print(f"in {stats.records_in:,} ({stats.in_rate:,.0f}/s)  "
                      f"out {stats.records_out:,}  dead {stats.dead_lettered:,}  "
                      f"batch {stats.last_batch_ms:.1f} ms", highlight=False)
        for step, report in sorted(stats.metrics.items()):
            line = model_summary(report)
            if line:
                console.print(f"  {step}: {line}", highlight=False)

    runner = Runner(pipeline, kafka=config, options=options, on_progress=show,
                    progress_interval=5.0)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    try:
        stats = runner.run()
    except KeyboardInterrupt:
        runner.stop()
        stats = runner.stats
    if json_out:
        print_json_line(stats.as_dict())


#: the live model figures worth a line of the progress output, in this order
SUMMARY_FIELDS = ("accuracy", "macro_f1", "log_loss", "mae", "rmse", "r2", "learned",
                  "pending_events", "waiting_labels", "model_updates", "seen")


def model_summary(report: dict[str, Any]) -> str:
    """One line of a step's live metrics (online learners, k-means).

    >>> model_summary({"accuracy": 0.9512, "window": {"accuracy": 0.97}, "learned": 1200})
    'accuracy 0.951 (last window 0.970)  learned 1,200'
    """
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
