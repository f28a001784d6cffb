"""The root command: one-line errors, --debug, --version (issue 8, items 8 and 12)."""

from __future__ import annotations

import time

import pytest

from tests.cli._run import cli, lines


def test_version_flag():
    done = cli("--version")
    assert done.returncode == 0 and done.stdout.startswith("streamlearn ")


@pytest.mark.parametrize(
    "args",
    [
        ["produce", "t", "--generator", "trades", "--records", "10", "-b", "127.0.0.1:1"],
        ["run", "tests/cli/pipelines_for_tests.py:pipeline", "-b", "127.0.0.1:1"],
        ["demo", "--records", "100", "-b", "127.0.0.1:1"],
        ["models", "list", "-b", "127.0.0.1:1"],
        ["dashboard", "--name", "s1", "--port", "0", "-b", "127.0.0.1:1"],
    ],
)
def test_an_unreachable_broker_is_one_line_within_seconds(args):
    started = time.monotonic()
    done = cli(*args, timeout=60)
    assert time.monotonic() - started < 15
    assert done.returncode == 1
    assert lines(done.stderr) == [
        "error: cannot reach Kafka at 127.0.0.1:1: connection refused (is the broker "
        "running? streamlearn broker start)"
    ], done.stderr


def test_the_bootstrap_variable_is_checked_the_same_way():
    done = cli(
        "produce",
        "t",
        "--generator",
        "trades",
        "--records",
        "10",
        env={"STREAMLEARN_BOOTSTRAP": "127.0.0.1:1"},
        timeout=60,
    )
    assert done.returncode == 1 and len(lines(done.stderr)) == 1
    assert "cannot reach Kafka at 127.0.0.1:1" in done.stderr


def test_an_error_from_the_users_module_is_one_line(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text(
        "from streamlearn.core.errors import ConfigError\n"
        "raise ConfigError('window seconds must be > 0')\n"
    )
    done = cli("run", f"{f}:pipeline", "-b", "127.0.0.1:1")
    assert done.returncode == 2
    assert lines(done.stderr) == ["error: window seconds must be > 0"]


def test_a_state_error_is_one_line_and_debug_shows_the_traceback(tmp_path):
    f = tmp_path / "state.py"
    f.write_text(
        "from streamlearn.core.errors import StateError\n"
        "def pipeline():\n    raise StateError('snapshot of step kmeans is corrupt')\n"
    )
    done = cli("run", f"{f}:pipeline", "-b", "127.0.0.1:1")
    assert done.returncode == 1
    assert lines(done.stderr) == ["error: snapshot of step kmeans is corrupt"]
    debug = cli("--debug", "run", f"{f}:pipeline", "-b", "127.0.0.1:1")
    assert "Traceback" in debug.stderr or "StateError" in debug.stderr
    assert len(lines(debug.stderr)) > 1
    env = cli("run", f"{f}:pipeline", "-b", "127.0.0.1:1", env={"STREAMLEARN_DEBUG": "1"})
    assert len(lines(env.stderr)) > 1


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "x.py", "--delivery", "bogus"], "'bogus' is not one of"),
        (["run", "x.py", "--commit-interval", "0"], "--commit-interval"),
        (["run", "pipes.yaml"], "YAML pipelines are not supported yet"),
        (["produce", "t", "--generator", "trades", "--partitions", "0"], "--partitions"),
        (["demo", "--scenario", "s9"], "unknown scenario 's9'"),
    ],
)
def test_bad_values_are_one_line_with_exit_code_2(args, needle):
    done = cli(*args, timeout=60)
    assert done.returncode == 2, done.stderr
    assert len(lines(done.stderr)) == 1 and needle in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
