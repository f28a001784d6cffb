"""The ``streamlearn`` command.

Only this package reads environment variables: every option that has one shows it in
``--help`` (Typer's ``envvar``), and the library below receives plain arguments.

Errors: every ``StreamlearnError`` a command raises (a ``ConfigError`` from the user's
pipeline module too) and every Kafka client error becomes one red line on stderr and
exit code 2 (bad settings) or 1 (anything else); the traceback is shown only with
``--debug`` or ``STREAMLEARN_DEBUG=1``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from streamlearn.cli.broker_cmd import app as broker_app
from streamlearn.cli.compare_cmd import compare
from streamlearn.cli.dashboard_cmd import dashboard
from streamlearn.cli.demo import demo
from streamlearn.cli.help import reflow_tree
from streamlearn.cli.models_cmd import app as models_app
from streamlearn.cli.produce_cmd import produce
from streamlearn.cli.run_cmd import run_command
from streamlearn.cli.train_cmd import train

__all__ = ["app", "error_exit_code", "main"]


def error_exit_code(exc: BaseException) -> int | None:
    """The exit code an error maps to, or None when it is not one we explain in a line.

    >>> from streamlearn.core.errors import ConfigError, StateError
    >>> error_exit_code(ConfigError("x")), error_exit_code(StateError("y")), \
error_exit_code(KeyError("z"))
    (2, 1, None)
    """
    from streamlearn.core.errors import ConfigError, StreamlearnError

    if isinstance(exc, ConfigError):
        return 2
    if isinstance(exc, StreamlearnError):
        return 1
    if type(exc).__module__.startswith("confluent_kafka") or type(exc).__name__ == "KafkaException":
        return 1
    return None


def _debug_wanted(ctx: Any) -> bool:
    if os.environ.get("STREAMLEARN_DEBUG", "").lower() in ("1", "true", "yes", "on"):
        return True
    return bool(ctx is not None and (ctx.find_root().obj or {}).get("debug"))


def _one_line_text(text: str) -> str:
    from rich.markup import escape

    return escape(" ".join(text.split()))


def _one_line(exc: BaseException) -> str:
    return _one_line_text(str(exc)) or type(exc).__name__


#: Click's exception classes as this Typer uses them (Typer >= 0.22 vendors Click)
_USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"
)


class _Group(TyperGroup):
    """The root group: turns known errors into one line (``--debug`` shows tracebacks),
    and reflows the help of every command under it (:mod:`streamlearn.cli.help`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        reflow_tree(self)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _USAGE_ERROR as exc:  # a bad option value: one line, exit 2
            if type(exc).__name__ == "NoArgsIsHelpError" or _debug_wanted(ctx):
                raise
            from streamlearn.cli.common import err_console

            sub = getattr(exc, "ctx", None)
            where = sub.command_path if sub is not None else "streamlearn"
            message = getattr(exc, "format_message", exc.__str__)()
            err_console.print(
                f"[red]error:[/] {_one_line_text(message)} (see {where} --help)",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2) from None
        except (typer.Exit, typer.Abort, _CLICK_EXCEPTION):
            raise
        except Exception as exc:
            code = error_exit_code(exc)
            if code is None or _debug_wanted(ctx):
                raise
            from streamlearn.cli.common import err_console

            err_console.print(f"[red]error:[/] {_one_line(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(code) from None


app = typer.Typer(
    name="streamlearn",
    cls=_Group,
    help="Machine learning on Kafka streams: fit, serve and keep learning models inside "
    "stream pipelines.\n\nStart with `streamlearn demo`; see `streamlearn COMMAND "
    "--help` for each command.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        from streamlearn import __version__

        typer.echo(f"streamlearn {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar="STREAMLEARN_DEBUG",
            help="Show full tracebacks instead of one-line errors.",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the streamlearn version and exit.",
        ),
    ] = False,
) -> None:
    ctx.obj = {"debug": debug}


app.command("demo")(demo)
app.command("run")(run_command)
app.command("produce")(produce)
app.command("train")(train)
app.command("dashboard")(dashboard)
app.command("compare")(compare)
app.add_typer(models_app, name="models")
app.add_typer(
    broker_app,
    name="broker",
    help="Start, stop and inspect the local "
    "development broker (Tansu, on loopback): `streamlearn broker start`.",
)


@app.command("version")
def version() -> None:
    """Print the streamlearn version."""
    from streamlearn import __version__

    typer.echo(__version__)


def main() -> None:
    """Entry point of the ``streamlearn`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
