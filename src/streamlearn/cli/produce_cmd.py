"""``streamlearn produce``: put demo data or a file into a topic, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from streamlearn.cli.common import Bootstrap, KafkaOption, kafka_config

GENERATORS = ("trades",)


def _file_records(path: Path) -> list[bytes]:
    """NDJSON lines as they are; CSV rows as JSON objects (header = field names)."""
    if not path.is_file():
        raise typer.BadParameter(f"no such file: {path}", param_hint="--file")
    if path.suffix.lower() == ".csv":
        import polars as pl

        from streamlearn.formats.json import encode_json

        return encode_json(pl.read_csv(path))
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def produce(
    topic: Annotated[str, typer.Argument(help="Destination topic (created if missing).")],
    file: Annotated[Path | None, typer.Option(help="NDJSON (.json/.ndjson) or CSV file.")]
    = None,
    generator: Annotated[str | None, typer.Option(help="Demo generator: trades.")] = None,
    records: Annotated[int, typer.Option(help="Records to generate.")] = 100_000,
    partitions: Annotated[int, typer.Option(help="Partitions when creating the topic.")] = 1,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 0,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
) -> None:
    """Produce records from a file or a demo generator into TOPIC."""
    from confluent_kafka import Producer

    from streamlearn.kafka.admin import ensure_topics
    from streamlearn.kafka.produce import produce as produce_one

    if (file is None) == (generator is None):
        raise typer.BadParameter("give exactly one of --file or --generator")
    if generator is not None and generator not in GENERATORS:
        raise typer.BadParameter(f"unknown generator {generator!r}; one of {GENERATORS}",
                                 param_hint="--generator")
    if records < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--records")
    config = kafka_config(bootstrap, kafka_option)
    if file is not None:
        values = _file_records(file)
    else:
        from streamlearn.data.trades import generate_trades

        values = generate_trades(records, seed=seed)
    ensure_topics(config, {topic: partitions})
    producer = Producer(config.producer_config())
    failed: list[str] = []

    def report(err: object, msg: object) -> None:
        if err is not None:
            failed.append(str(err))

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns) as bar:
        task = bar.add_task(f"producing to {topic}", total=len(values))
        step = 10_000
        for start in range(0, len(values), step):
            for v in values[start:start + step]:
                produce_one(producer, topic, v, on_delivery=report)
            producer.poll(0)
            bar.update(task, advance=min(step, len(values) - start))
        producer.flush(60)
    if failed:
        typer.secho(f"{len(failed)} records failed: {failed[0]}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"produced {len(values):,} records to {topic}")
