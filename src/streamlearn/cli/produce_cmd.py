"""``streamlearn produce``: put generated data or a file into a topic, with a progress bar.

What it reports is what the broker acknowledged: deliveries are counted from the delivery
reports, and whatever ``flush()`` leaves undelivered is a failure with its reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from streamlearn.cli.common import (
    Bootstrap,
    KafkaOption,
    SaslPassword,
    SaslUser,
    ensure_reachable,
    err_console,
    kafka_config,
)
from streamlearn.core.errors import ConfigError, KafkaError

__all__ = ["GENERATORS", "produce"]

GENERATORS = ("trades", "temperature", "susy", "late-labels-events", "late-labels-labels")
#: how long a record may wait for its acknowledgement before it counts as failed
DELIVERY_TIMEOUT_S = 30.0


def _generated(generator: str, records: int, seed: int) -> list[bytes]:
    if generator == "trades":
        from streamlearn.datasets.synth.trades import generate_trades

        return generate_trades(records, seed=seed)
    if generator == "temperature":
        from streamlearn.datasets.synth.temperature import generate_temperature

        return generate_temperature(records, seed=seed)
    if generator == "susy":
        from streamlearn.datasets.synth.susy import generate_susy

        return generate_susy(records, seed=seed)
    from streamlearn.datasets.synth.late_labels import LateLabels

    kind = generator.rsplit("-", 1)[1][:-1]  # "event" or "label"
    return [v for k, _, v in LateLabels(seed=seed).take(records) if k == kind]


def _file_records(path: Path, types: dict[str, str]) -> list[bytes]:
    """NDJSON lines as they are; CSV rows as JSON objects (header = field names)."""
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    if path.suffix.lower() == ".csv":
        from streamlearn.cli.csv_records import csv_records

        values, problems = csv_records(path.read_text(errors="replace"), types, source=str(path))
        for line in problems[:10]:
            err_console.print(f"[yellow]{path}[/] {line}", highlight=False)
        if len(problems) > 10:
            err_console.print(
                f"... and {len(problems) - 10} more cells that do not parse", highlight=False
            )
        return values
    if types:
        raise ConfigError("--type applies to CSV files only")
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def _keys(values: list[bytes], field: str) -> list[bytes | None]:
    """The ``field`` of each JSON record as the record key (None where it is missing)."""
    import orjson

    keys: list[bytes | None] = []
    missing = 0
    for v in values:
        try:
            k = orjson.loads(v).get(field)
        except (orjson.JSONDecodeError, AttributeError):
            k = None
        if k is None:
            missing += 1
            keys.append(None)
        else:
            keys.append(k.encode() if isinstance(k, str) else orjson.dumps(k))
    if missing == len(values) and values:
        raise ConfigError(f"--key {field!r}: no record has that field")
    if missing:
        err_console.print(
            f"[yellow]{missing:,} records have no {field!r}: produced without a key[/]"
        )
    return keys


def produce(
    topic: Annotated[str, typer.Argument(help="Destination topic (created if missing).")],
    file: Annotated[
        Path | None,
        typer.Option(
            help="NDJSON (.json/.ndjson: one record a line) or CSV (header = field names) file."
        ),
    ] = None,
    generator: Annotated[
        str | None, typer.Option(help=f"Generated data instead of a file: {', '.join(GENERATORS)}.")
    ] = None,
    records: Annotated[int, typer.Option(help="Records to generate.")] = 100_000,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="Use this field of each record as its key (keyed topics, e.g. "
            "events and labels joined by id).",
        ),
    ] = None,
    column_type: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="CSV column type COLUMN=TYPE (int, float, bool, string; repeatable); "
            "other columns are inferred.",
        ),
    ] = None,
    partitions: Annotated[int, typer.Option(help="Partitions when creating the topic (>= 1).")] = 1,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
) -> None:
    """Produce records from a file or a generator into TOPIC.

    Prints the exact number of records the broker acknowledged; exits 1 with the reason
    when any record was not delivered.

    Examples:

        streamlearn produce trades --generator trades --records 200000

        streamlearn produce events --file events.csv --key event_id --type score=float
    """
    from confluent_kafka import Producer

    from streamlearn.kafka.admin import ensure_topics
    from streamlearn.kafka.produce import produce as produce_one

    if (file is None) == (generator is None):
        raise typer.BadParameter("give exactly one of --file or --generator")
    if generator is not None and generator not in GENERATORS:
        raise typer.BadParameter(
            f"unknown generator {generator!r}; one of {', '.join(GENERATORS)}",
            param_hint="--generator",
        )
    if records < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--records")
    if partitions < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--partitions")
    types = {}
    for item in column_type or []:
        name, sep, kind = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected COLUMN=TYPE, got {item!r}", param_hint="--type")
        types[name.strip()] = kind.strip()
    values = (
        _file_records(file, types)
        if file is not None
        else _generated(generator or "", records, seed)
    )
    keys = _keys(values, key) if key else None
    config = kafka_config(bootstrap, kafka_option, sasl_username, sasl_password)
    ensure_reachable(config)
    ensure_topics(config, {topic: partitions})
    timeout_ms = int(config.client_options.get("message.timeout.ms", DELIVERY_TIMEOUT_S * 1000))
    producer = Producer(config.producer_config(**{"message.timeout.ms": timeout_ms}))
    delivered = [0]
    failed: list[str] = []

    def report(err: Any, msg: Any) -> None:
        if err is None:
            delivered[0] += 1
        else:
            failed.append(str(err))

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console) as bar:
        task = bar.add_task(f"producing to {topic}", total=len(values))
        step = 10_000
        for start in range(0, len(values), step):
            for i in range(start, min(start + step, len(values))):
                produce_one(
                    producer, topic, values[i], keys[i] if keys else None, on_delivery=report
                )
            producer.poll(0)
            bar.update(task, completed=delivered[0] + len(failed))
        left = producer.flush(timeout_ms / 1000 + 5)
        bar.update(task, completed=delivered[0] + len(failed))
    if delivered[0] != len(values):
        reason = failed[0] if failed else f"{left:,} still waiting for the broker"
        raise KafkaError(
            f"delivered {delivered[0]:,} of {len(values):,} records to {topic}: "
            f"{len(values) - delivered[0]:,} not delivered ({reason})"
        )
    typer.echo(f"produced {delivered[0]:,} records to {topic}")
