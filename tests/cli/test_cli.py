"""The command line as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from streamlearn.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args", [[], ["demo"], ["run"], ["produce"], ["broker"], ["broker", "start"]]
)
def test_help_everywhere(args):
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


@pytest.mark.parametrize("command", ["demo", "run", "produce", "broker start"])
def test_every_command_help_has_an_example(command):
    result = runner.invoke(app, [*command.split(), "--help"])
    assert "Example" in result.output and "streamlearn " in result.output


def test_run_refuses_a_target_that_is_not_a_pipeline(tmp_path):
    f = tmp_path / "p.py"
    f.write_text("pipeline = 42\n")
    result = runner.invoke(app, ["run", f"{f}:pipeline", "-b", "127.0.0.1:1"])
    assert result.exit_code == 2
    assert "not a pipeline" in result.output


def test_broker_start_status_stop(tmp_path):
    state = ["--state-dir", str(tmp_path)]
    assert runner.invoke(app, ["broker", "status", *state]).exit_code == 1
    started = runner.invoke(app, ["broker", "start", *state])
    try:
        assert started.exit_code == 0, started.output
        status = runner.invoke(app, ["broker", "status", "--json", *state])
        assert status.exit_code == 0
        assert json.loads(status.output)["bootstrap"].startswith("127.0.0.1:")
        again = runner.invoke(app, ["broker", "start", *state])
        assert "Already running" in again.output
    finally:
        assert runner.invoke(app, ["broker", "stop", *state]).exit_code == 0
    assert runner.invoke(app, ["broker", "status", *state]).exit_code == 1


@pytest.mark.broker
def test_demo_runs_to_completion_and_balances_its_counts():
    done = subprocess.run(
        [sys.executable, "-m", "streamlearn.cli.main", "demo", "--records", "20000", "--json"],
        capture_output=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert result["records_in"] == 20000
    assert result["dead_lettered"] > 0
    assert result["records_in"] == (
        result["records_out"] + result["records_filtered"] + result["dead_lettered"]
    )
    assert len(result["centroids"]) == 3 and result["elapsed_s"] > 0


@pytest.mark.broker
def test_demo_s4_learns_from_late_labels():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streamlearn.cli.main",
            "demo",
            "--scenario",
            "late-labels",
            "--records",
            "20000",
            "--rate",
            "5000",
            "--json",
        ],
        capture_output=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert result["records_in"] == 40_000 and result["predictions_out"] == 20_000
    assert result["learned"] == 20_000 and result["pending_events"] == 0
    assert result["accuracy_window"] > 0.9
