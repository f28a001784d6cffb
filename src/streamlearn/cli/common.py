"""Options and helpers shared by the commands."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer
from rich.console import Console

from streamlearn.core.errors import BrokerError
from streamlearn.kafka.config import KafkaConfig

__all__ = [
    "Bootstrap",
    "KafkaOption",
    "SaslPassword",
    "SaslUser",
    "ensure_reachable",
    "err_console",
    "graceful_stop",
    "kafka_config",
    "print_json_line",
]

err_console = Console(stderr=True)

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        "-b",
        envvar="STREAMLEARN_BOOTSTRAP",
        help="Kafka bootstrap servers (host:port,...). Default: the local broker "
        "started by `streamlearn broker start`.",
    ),
]
KafkaOption = Annotated[
    list[str] | None,
    typer.Option(
        "--kafka-option",
        "-X",
        envvar="STREAMLEARN_KAFKA_OPTIONS",
        help="Extra librdkafka setting KEY=VALUE (repeatable), e.g. "
        "-X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN.",
    ),
]
SaslUser = Annotated[
    str | None, typer.Option(envvar="STREAMLEARN_SASL_USERNAME", help="SASL username.")
]
SaslPassword = Annotated[
    str | None,
    typer.Option(envvar="STREAMLEARN_SASL_PASSWORD", help="SASL password (never printed)."),
]


def _parse_options(options: list[str] | None) -> dict[str, str]:
    extra: dict[str, str] = {}
    for item in options or []:
        if "=" not in item:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="-X")
        k, v = item.split("=", 1)
        extra[k.strip()] = v.strip()
    return extra


def kafka_config(
    bootstrap: str | None,
    options: list[str] | None = None,
    sasl_username: str | None = None,
    sasl_password: str | None = None,
    state_dir: str | None = None,
) -> KafkaConfig:
    """Build the cluster settings from CLI options, or find the running local broker.

    Every option reaches the client config whether or not ``bootstrap`` is given: with no
    address the local broker's is used (and its fast group-join settings), the ``-X`` and
    SASL options still apply.

    Examples
    --------
    >>> cfg = kafka_config("kafka:9092", ["linger.ms=1"], "me", "pw")
    >>> cfg.client_options["linger.ms"], cfg.sasl_username, cfg.security_protocol
    ('1', 'me', 'SASL_SSL')
    """
    extra = _parse_options(options)
    local = False
    if bootstrap is None:
        from streamlearn.cli.broker_cmd import default_state_dir
        from streamlearn.kafka.local_broker import status

        info = status(default_state_dir(state_dir))
        if info is None:
            raise BrokerError(
                "no Kafka cluster given and no local broker running: start one "
                "with `streamlearn broker start` or pass --bootstrap HOST:PORT"
            )
        bootstrap, local = info.bootstrap, True
    kwargs: dict[str, Any] = {"local": local}
    if sasl_username is not None:
        kwargs["sasl_username"] = sasl_username
        kwargs["security_protocol"] = extra.pop("security.protocol", "SASL_SSL")
        kwargs["sasl_mechanism"] = extra.pop("sasl.mechanism", "PLAIN")
    if sasl_password is not None:
        kwargs["sasl_password"] = sasl_password
    kwargs["client_options"] = extra
    # an explicit address that is the local broker's gets its fast group-join settings
    return KafkaConfig.resolve(bootstrap, state_dir=state_dir, **kwargs)


def ensure_reachable(config: KafkaConfig, timeout: float = 5.0) -> None:
    """Fail with one line (``BrokerError``) when the cluster does not answer: the Kafka
    package's :func:`~streamlearn.kafka.connect.check_reachable`, before any client of a
    command starts its own retry loop."""
    from streamlearn.kafka.connect import check_reachable

    check_reachable(config, timeout=timeout)


@contextlib.contextmanager
def graceful_stop(
    stop: Callable[[], None], on_stop: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into ``stop()`` while the block runs.

    The first signal asks for a clean stop (the run commits and returns) and calls
    ``on_stop(name)`` at once, e.g. to print "stopping..."; a second Ctrl-C raises
    ``KeyboardInterrupt``. The previous handlers come back afterwards.
    """
    asked = [False]

    def handler(signum: int, frame: Any) -> None:
        if asked[0] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        asked[0] = True
        stop()
        if on_stop is not None:
            on_stop(signal.Signals(signum).name)

    wanted = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGHUP"):
        wanted.append(signal.SIGHUP)
    previous = {}
    try:
        for sig in wanted:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread (e.g. a test runner): no handlers
        previous = {}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def print_json_line(obj: Any) -> None:
    """The machine-readable result: one JSON object on the last line of stdout."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()
