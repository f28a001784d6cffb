"""The ``streamlearn`` command.

Only this package reads environment variables: every option that has one shows it in
``--help`` (Typer's ``envvar``), and the library below receives plain arguments.
"""

from __future__ import annotations

import typer

from streamlearn.cli.broker_cmd import app as broker_app
from streamlearn.cli.demo import demo
from streamlearn.cli.produce_cmd import produce
from streamlearn.cli.run_cmd import run_command

app = typer.Typer(
    name="streamlearn",
    help="Machine learning on Kafka streams: fit, serve and keep learning models inside "
         "stream pipelines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.command("demo")(demo)
app.command("run")(run_command)
app.command("produce")(produce)
app.add_typer(broker_app, name="broker", help="Start, stop and inspect the local "
              "development broker (Tansu, on loopback).")


@app.command("version")
def version() -> None:
    """Print the streamlearn version."""
    from streamlearn import __version__

    typer.echo(__version__)


if __name__ == "__main__":  # pragma: no cover
    app()
