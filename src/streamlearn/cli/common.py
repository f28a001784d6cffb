"""Options and helpers shared by the commands."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from streamlearn.kafka.config import KafkaConfig

err_console = Console(stderr=True)

Bootstrap = Annotated[
    str | None,
    typer.Option("--bootstrap", "-b", envvar="STREAMLEARN_BOOTSTRAP",
                 help="Kafka bootstrap servers (host:port,...). Default: the local broker "
                      "started by `streamlearn broker start`."),
]
KafkaOption = Annotated[
    list[str] | None,
    typer.Option("--kafka-option", "-X", envvar="STREAMLEARN_KAFKA_OPTIONS",
                 help="Extra librdkafka setting KEY=VALUE (repeatable), e.g. "
                      "-X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN."),
]
SaslUser = Annotated[str | None, typer.Option(envvar="STREAMLEARN_SASL_USERNAME",
                                              help="SASL username.")]
SaslPassword = Annotated[str | None, typer.Option(envvar="STREAMLEARN_SASL_PASSWORD",
                                                  help="SASL password (never printed).")]


def kafka_config(bootstrap: str | None, options: list[str] | None = None,
                 sasl_username: str | None = None, sasl_password: str | None = None,
                 state_dir: str | None = None) -> KafkaConfig:
    """Build the cluster settings from CLI options, or find the running local broker."""
    extra: dict[str, str] = {}
    for item in options or []:
        if "=" not in item:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="-X")
        k, v = item.split("=", 1)
        extra[k.strip()] = v.strip()
    if bootstrap is None:
        from streamlearn.cli.broker_cmd import default_state_dir
        from streamlearn.kafka.local_broker import status

        info = status(default_state_dir(state_dir))
        if info is None:
            err_console.print("[red]No Kafka cluster given and no local broker running.[/] "
                              "Start one with [bold]streamlearn broker start[/] or pass "
                              "--bootstrap HOST:PORT.")
            raise typer.Exit(2)
        return KafkaConfig.for_local_broker(info.bootstrap)
    kwargs: dict[str, Any] = {"bootstrap_servers": bootstrap, "client_options": extra}
    if sasl_username is not None:
        kwargs["sasl_username"] = sasl_username
    if sasl_password is not None:
        kwargs["sasl_password"] = sasl_password
    if sasl_username is not None and "security_protocol" not in kwargs:
        kwargs["security_protocol"] = extra.pop("security.protocol", "SASL_SSL")
        kwargs["sasl_mechanism"] = extra.pop("sasl.mechanism", "PLAIN")
    return KafkaConfig(**kwargs)


def print_json_line(obj: Any) -> None:
    """The machine-readable result: one JSON object on the last line of stdout."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()
