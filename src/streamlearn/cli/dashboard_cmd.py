"""``streamlearn dashboard``: the live board of a running pipeline, in the browser.

Registered in ``cli/main.py`` with ``app.command("dashboard")(dashboard)``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from streamlearn.cli.common import (
    Bootstrap,
    KafkaOption,
    SaslPassword,
    SaslUser,
    ensure_reachable,
    err_console,
    kafka_config,
)
from streamlearn.core.errors import ConfigError

__all__ = ["dashboard"]


def dashboard(
    name: Annotated[
        str,
        typer.Option(
            envvar="STREAMLEARN_NAME",
            help="Pipeline name (as given to `streamlearn run "
            "--name`): the board reads <name>.metrics.",
        ),
    ],
    host: Annotated[
        str,
        typer.Option(
            envvar="STREAMLEARN_DASHBOARD_HOST",
            help="Address to listen on. Anything but loopback needs --token.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(envvar="STREAMLEARN_DASHBOARD_PORT", help="Port to listen on.")
    ] = 8050,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="STREAMLEARN_DASHBOARD_TOKEN",
            help="Require this token on every request (open http://HOST:PORT/?token=... "
            "once; never printed).",
        ),
    ] = None,
    minutes: Annotated[
        float, typer.Option(help="History shown, in minutes (the feed is read from that far back).")
    ] = 15.0,
    topic: Annotated[
        str | None,
        typer.Option(help="The metrics topic, if the run set another than <name>.metrics."),
    ] = None,
    series: Annotated[
        list[str] | None,
        typer.Option(
            help="Plot recent values of an output topic over time: "
            "TOPIC:COLUMN[,COLUMN...][@TIME_COLUMN] (JSON records; time: the record "
            "timestamp unless a column is named). Repeatable.",
        ),
    ] = None,
    bootstrap: Bootstrap = None,
    kafka_option: KafkaOption = None,
    sasl_username: SaslUser = None,
    sasl_password: SaslPassword = None,
) -> None:
    """Serve a live web board of a running pipeline; Ctrl-C stops it.

    The board shows throughput, latency, lag per partition, model accuracy or error,
    k-means centroids and model versions, read from the pipeline's `<name>.metrics` topic,
    and with --series the values an output topic carries over time.

    Example:

        streamlearn dashboard --name s1 --series example_2:Temperature,prediction@time
    """
    from streamlearn.dashboard import Dashboard

    config = kafka_config(bootstrap, kafka_option, sasl_username, sasl_password)
    try:
        board = Dashboard(
            config,
            name,
            host=host,
            port=port,
            token=token,
            minutes=minutes,
            topic=topic,
            series=series or (),
        )
        ensure_reachable(config)  # a mistyped address is one line, not an empty board
        board.run(
            lambda url: err_console.print(
                f"Dashboard of [bold]{name}[/] on [bold]{url}[/]"
                f"{' (token required)' if token else ''} - Ctrl-C to stop",
                highlight=False,
            )
        )
    except ConfigError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass
