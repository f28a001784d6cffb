"""``streamlearn broker start|stop|status``: the local broker as a background service."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(no_args_is_help=True, add_completion=False)
console = Console()

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar="STREAMLEARN_STATE_DIR",
        help="Where the broker's pid, port and log are kept (default ~/.streamlearn/broker).",
    ),
]


def default_state_dir(state_dir: str | Path | None = None) -> Path:
    return Path(state_dir) if state_dir else Path.home() / ".streamlearn" / "broker"


@app.command()
def start(
    port: Annotated[
        int | None,
        typer.Option(
            envvar="STREAMLEARN_BROKER_PORT",
            help="Port on 127.0.0.1 (default: 9092, or a free one when 9092 is taken).",
        ),
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Start the local Kafka-protocol broker on loopback (memory storage), in the background.

    It listens on 127.0.0.1:9092 unless that port is taken (then on a free port): the
    address is printed, and every command finds the running broker by itself when no
    --bootstrap is given.

    Example:

        streamlearn broker start && streamlearn produce trades --generator trades
    """
    from streamlearn.core.errors import BrokerError
    from streamlearn.kafka.local_broker import DEFAULT_PORT, free_port, start_background

    try:
        info, started = start_background(
            default_state_dir(state_dir), port or free_port(prefer=DEFAULT_PORT)
        )
    except BrokerError as exc:
        console.print(f"[red]Could not start the broker:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    verb = "Started" if started else "Already running:"
    console.print(f"{verb} local broker at [bold]{info.bootstrap}[/] (pid {info.pid})")
    console.print(f"Use it with: [bold]export STREAMLEARN_BOOTSTRAP={info.bootstrap}[/]")


@app.command()
def stop(state_dir: StateDir = None) -> None:
    """Stop the local broker (its data, kept in memory, is gone)."""
    from streamlearn.kafka.local_broker import stop_background

    info = stop_background(default_state_dir(state_dir))
    if info is None:
        console.print("No local broker was running.")
    else:
        console.print(f"Stopped the local broker at {info.bootstrap} (pid {info.pid})")


@app.command()
def status(
    state_dir: StateDir = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show whether the local broker runs; exit code 1 when it does not."""
    from streamlearn.kafka.local_broker import status as broker_status

    info = broker_status(default_state_dir(state_dir))
    if json_out:
        typer.echo(
            json.dumps(
                None
                if info is None
                else {
                    "pid": info.pid,
                    "bootstrap": info.bootstrap,
                    "log": info.log,
                    "uptime_s": round(time.time() - info.started_at, 1),
                }
            )
        )
    elif info is None:
        console.print(
            "The local broker is not running. Start it with [bold]streamlearn broker start[/]."
        )
    else:
        console.print(
            f"Running at [bold]{info.bootstrap}[/] (pid {info.pid}, up "
            f"{time.time() - info.started_at:,.0f} s, log {info.log})"
        )
    if info is None:
        raise typer.Exit(1)
