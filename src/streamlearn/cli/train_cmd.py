"""``streamlearn train``: scenario S2's offline job on a topic or a file.

The command is :func:`streamlearn.train.regimes` with options: it reads the data (a
bounded slice of a topic, from its start to its end when the command starts, or a CSV,
Parquet or NDJSON file), writes the elbow curve, the confusion matrix, the ONNX model and
a JSON report to ``--out``, and pushes the model to the registry when a cluster is given
(``--topic`` or ``--bootstrap``). The last line of stdout is the report as JSON with
``--json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from streamlearn.cli.common import (
    Bootstrap,
    KafkaOption,
    SaslPassword,
    SaslUser,
    ensure_reachable,
    err_console,
    kafka_config,
    print_json_line,
)
from streamlearn.registry.records import ARTIFACT_TOPIC, CONTROL_TOPIC

__all__ = ["train"]


def _topic_dataset(topic: str, columns: list[str], config: Any) -> Any:
    """The topic from its first record to its end now, decoded to the wanted columns."""
    import streamlearn as sl
    from streamlearn import datasets

    schema = {c: "float" for c in columns}
    return datasets.from_kafka(
        topic, decode=sl.decode.json(schema), start="earliest", end="now", kafka=config
    )


def train(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Train from a file: .csv, .parquet, or .ndjson/.json (one object a line).",
        ),
    ] = None,
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic",
            "-t",
            help="Train from a topic: its JSON records, from the first to the last.",
        ),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            "-c",
            help="Numeric column to find the regimes in (repeatable).",
        ),
    ] = None,
    k: Annotated[
        int | None,
        typer.Option("--k", "-k", help="Number of regimes (default: the elbow curve's bend)."),
    ] = None,
    k_max: Annotated[
        int, typer.Option("--k-max", help="The elbow curve covers k = 2..K_MAX.")
    ] = 19,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Directory for elbow.png, confusion.png, model.onnx, report.json."
        ),
    ] = Path("s2-model"),
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            envvar="STREAMLEARN_MODEL_NAME",
            help="Registry name of the model (default: <column>-regimes).",
        ),
    ] = None,
    alias: Annotated[
        list[str] | None,
        typer.Option("--alias", "-a", help="Alias(es) to point at the new version."),
    ] = None,
    push: Annotated[
        bool,
        typer.Option(
            "--push/--no-push",
            help="Push to the registry (default: when a cluster is given by --topic or "
            "--bootstrap).",
        ),
    ] = True,
    registry_topic: Annotated[
        str,
        typer.Option(
            "--registry-topic",
            envvar="STREAMLEARN_MODELS_TOPIC",
            help="The registry's control topic.",
        ),
    ] = CONTROL_TOPIC,
    artifact_topic: Annotated[
        str, typer.Option("--artifact-topic", help="Where large artifacts are chunked.")
    ] = ARTIFACT_TOPIC,
    seed: Annotated[int, typer.Option(help="Seed of k-means, the split and the MLP.")] = 0,
    max_epochs: Annotated[int, typer.Option("--max-epochs", help="MLP epochs at most.")] = 200,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
) -> None:
    """Find the work regimes of a signal and train a model that tells them (scenario S2).

    Elbow curve for k = 2..19 (elbow.png), k-means labels with the chosen k, a 1-6-8-6
    perceptron on a stratified 60/40 split (accuracy, confusion.png), ONNX export checked
    against scikit-learn (model.onnx), pushed to the registry when a cluster is given.

    Examples:

        streamlearn train --topic example_1 -b 127.0.0.1:9092 --name s2-regimes

        streamlearn train --file temperature.csv --column Temperature --out s2-model

        streamlearn train --file temperature.parquet --k 6 --no-push
    """
    from streamlearn.train.regimes import regimes

    if (file is None) == (topic is None):
        raise typer.BadParameter("give exactly one of --file or --topic")
    if k is not None and k < 2:
        raise typer.BadParameter("must be >= 2", param_hint="--k")
    if k_max < 4:
        raise typer.BadParameter("must be >= 4 (an elbow needs 3 points)", param_hint="--k-max")
    if max_epochs < 1:
        raise typer.BadParameter("must be >= 1", param_hint="--max-epochs")
    if file is not None and not Path(file).is_file():  # before any progress bar is drawn
        raise typer.BadParameter(f"no such file: {file}", param_hint="--file")
    columns = list(column or ["Temperature"])
    cluster = topic is not None or bootstrap is not None
    config = None
    if cluster:
        config = kafka_config(bootstrap, kafka_option, sasl_username, sasl_password)
        ensure_reachable(config)
    data: Any = file if file is not None else _topic_dataset(topic or "", columns, config)
    report = regimes(
        data,
        column=columns,
        k=k,
        ks=range(2, k_max + 1),
        out=out,
        name=name,
        alias=alias if alias else "champion",
        kafka=config if push else None,
        registry_topic=registry_topic,
        artifact_topic=artifact_topic,
        max_epochs=max_epochs,
        seed=seed,
        progress=True,
    )
    if report.bad_records:
        err_console.print(f"[yellow]{topic}: {getattr(data, 'report', '')}[/]", highlight=False)
    if report.dropped:
        err_console.print(
            f"[yellow]{report.dropped:,} rows without a value in {', '.join(columns)}: left out[/]"
        )
    if push and not cluster:
        err_console.print("[dim]no cluster given (--topic or --bootstrap): model not pushed[/]")
    typer.echo(report.summary())
    if json_out:
        print_json_line(report.to_json())
