"""``streamlearn dashboard``: its options, and its refusal to serve beyond loopback
without a token (one line, exit code 2, before anything listens)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from streamlearn.cli.dashboard_cmd import dashboard

app = typer.Typer()
app.command("dashboard")(dashboard)
app.command("noop")(lambda: None)  # two commands: `dashboard` stays a subcommand


def test_help_lists_the_options():
    out = CliRunner().invoke(app, ["dashboard", "--help"], terminal_width=200)
    assert out.exit_code == 0
    for option in ("--name", "--host", "--port", "--token", "--bootstrap", "--minutes"):
        assert option in out.output


def test_beyond_loopback_without_token_is_one_line():
    out = CliRunner().invoke(
        app,
        ["dashboard", "--name", "s1", "-b", "127.0.0.1:1", "--host", "0.0.0.0"],
        terminal_width=200,
    )
    assert out.exit_code == 2
    assert "reachable from other machines: pass --token" in out.output
    assert "Traceback" not in out.output
