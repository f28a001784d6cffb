"""``streamlearn models push|list|show|promote|rollback|expire|delete``: the registry.

Registered in the main command with
``app.add_typer(models_app, name="models", help="...")``. Every command takes the cluster
options of the others (``--bootstrap``, ``-X``, SASL) and ``--topic`` for a registry
other than the default ``_sl_models``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from streamlearn.cli.common import (
    Bootstrap,
    KafkaOption,
    SaslPassword,
    SaslUser,
    ensure_reachable,
    kafka_config,
)
from streamlearn.core.errors import StreamlearnError
from streamlearn.registry.records import ARTIFACT_TOPIC, CONTROL_TOPIC

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Push, list, promote, roll back and expire models in the registry.",
)
console = Console()

Topic = Annotated[
    str,
    typer.Option(
        "--topic", envvar="STREAMLEARN_MODELS_TOPIC", help="The registry's control topic."
    ),
]
ArtifactTopic = Annotated[
    str, typer.Option("--artifact-topic", help="Where large artifacts are chunked.")
]
Alias = Annotated[str, typer.Option("--alias", "-a", help="The alias to move.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _registry(
    bootstrap: str | None,
    options: list[str] | None,
    user: str | None,
    password: str | None,
    topic: str,
    artifact_topic: str = ARTIFACT_TOPIC,
) -> Any:
    from streamlearn.registry.control import Registry

    config = kafka_config(bootstrap, options, user, password)
    ensure_reachable(config)  # one line in a second, not the client's 30 s of retries
    return Registry(config, topic=topic, artifact_topic=artifact_topic)


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@app.command()
def push(
    path: Annotated[
        str,
        typer.Argument(
            help="Model file: .onnx, .skops, or .river (a River model saved with "
            "streamlearn.formats.river.dump_river; needs --features)."
        ),
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="Model name.")],
    alias: Annotated[
        list[str] | None, typer.Option("--alias", "-a", help="Alias(es) to point at it.")
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            "-f",
            help="Feature names, comma-separated, in the model's order "
            "(default: the model's input names).",
        ),
    ] = None,
    format: Annotated[
        str | None, typer.Option(help="onnx, skops or river (default: from the suffix).")
    ] = None,
    expires_at: Annotated[str | None, typer.Option("--expires-at", help="ISO-8601 time.")] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", "-m", help="KEY=VALUE metadata.")
    ] = None,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
    topic: Topic = CONTROL_TOPIC,
    artifact_topic: ArtifactTopic = ARTIFACT_TOPIC,
    json_out: JsonOut = False,
) -> None:
    """Add a model version (numbered by the registry) and optionally move aliases to it."""
    metadata = dict(m.split("=", 1) for m in meta or [] if "=" in m)
    reg = _registry(bootstrap, kafka_option, sasl_username, sasl_password, topic, artifact_topic)
    try:
        v = reg.push(
            path,
            name=name,
            alias=alias or None,
            format=format,
            signature=features.split(",") if features else None,
            expires_at=expires_at,
            metadata=metadata,
        )
    except StreamlearnError as exc:
        raise _fail(exc) from None
    if json_out:
        typer.echo(json.dumps({"name": v.name, "version": v.version, "sha256": v.sha256}))
    else:
        where = "inline" if "inline" in v.artifact else f"{v.artifact['chunks']} chunks"
        console.print(
            f"pushed [bold]{v.name}[/] v{v.version} ({v.format}, {v.size:,} bytes, "
            f"{where}){' as ' + ', '.join(alias) if alias else ''}"
        )


@app.command("list")
def list_models(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
    topic: Topic = CONTROL_TOPIC,
    json_out: JsonOut = False,
) -> None:
    """List model versions with their aliases and whether they can score now."""
    import time

    reg = _registry(bootstrap, kafka_option, sasl_username, sasl_password, topic)
    table = reg.table()
    rows = [
        (v, table.aliases_of(v.name, v.version))
        for n in table.names()
        if name in (None, n)
        for _, v in sorted(table.versions.get(n, {}).items())
        if not v.deleted
    ]
    if json_out:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": v.name,
                        "version": v.version,
                        "format": v.format,
                        "aliases": a,
                        "valid": v.valid_at(time.time()),
                        "expires_at": v.expires_at,
                    }
                    for v, a in rows
                ]
            )
        )
        return
    out = Table("model", "version", "format", "aliases", "features", "expires")
    for v, a in rows:
        expires = (
            "-"
            if v.expires_at is None
            else time.strftime("%Y-%m-%d %H:%M", time.gmtime(v.expires_at))
        )
        out.add_row(
            v.name, str(v.version), v.format, ", ".join(a), ", ".join(v.signature.names), expires
        )
    console.print(out)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Model name.")],
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
    topic: Topic = CONTROL_TOPIC,
) -> None:
    """Print a model's versions (signature, profile, metadata) and aliases as JSON."""
    try:
        doc = _registry(bootstrap, kafka_option, sasl_username, sasl_password, topic).show(name)
    except StreamlearnError as exc:
        raise _fail(exc) from None
    typer.echo(json.dumps(doc, indent=2))


def _alias_change(action: str, name: str, version: int | None, alias: str, **kw: Any) -> None:
    reg = _registry(**kw)
    try:
        rec = (
            reg.promote(name, version, alias) if action == "promote" else reg.rollback(name, alias)
        )
    except StreamlearnError as exc:
        raise _fail(exc) from None
    console.print(f"{name}@{alias} -> v{rec.version}")


@app.command()
def promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version to point the alias at.")],
    alias: Alias = "champion",
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
    topic: Topic = CONTROL_TOPIC,
) -> None:
    """Point an alias (default champion) at a version; pipelines follow within a batch."""
    _alias_change(
        "promote",
        name,
        version,
        alias,
        bootstrap=bootstrap,
        options=kafka_option,
        user=sasl_username,
        password=sasl_password,
        topic=topic,
    )


@app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="Model name.")],
    alias: Alias = "champion",
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
    topic: Topic = CONTROL_TOPIC,
) -> None:
    """Move an alias back to the version it pointed at before."""
    _alias_change(
        "rollback",
        name,
        None,
        alias,
        bootstrap=bootstrap,
        options=kafka_option,
        user=sasl_username,
        password=sasl_password,
        topic=topic,
    )


@app.command()
def expire(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version.")],
    at: Annotated[str | None, typer.Option("--at", help="ISO-8601 time (default: now).")] = None,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
    topic: Topic = CONTROL_TOPIC,
) -> None:
    """Stop a version from scoring at a time."""
    reg = _registry(bootstrap, kafka_option, sasl_username, sasl_password, topic)
    try:
        rec = reg.expire(name, version, at)
    except StreamlearnError as exc:
        raise _fail(exc) from None
    console.print(f"{name} v{version} expires at {rec.expires_at:.0f} (epoch s)")


@app.command()
def delete(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="Version.")],
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
    topic: Topic = CONTROL_TOPIC,
) -> None:
    """Delete a version (it stops scoring; its number is not reused)."""
    reg = _registry(bootstrap, kafka_option, sasl_username, sasl_password, topic)
    try:
        reg.delete(name, version)
    except StreamlearnError as exc:
        raise _fail(exc) from None
    console.print(f"deleted {name} v{version}")


__all__ = ["app"]
