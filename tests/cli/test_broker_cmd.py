"""``streamlearn broker``: the port the README uses, no logs left behind (items 9, 13)."""

from __future__ import annotations

import glob
import json
import socket
import tempfile

from typer.testing import CliRunner

from streamlearn.cli.main import app
from streamlearn.kafka.local_broker import DEFAULT_PORT, LocalBroker, free_port

runner = CliRunner()


def test_free_port_prefers_the_default_and_falls_back_when_taken():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        assert free_port(prefer=taken) != taken
    assert free_port(prefer=taken) == taken  # released: free again


def test_broker_start_takes_9092_when_free_and_cleans_its_log(tmp_path):
    expected_9092 = free_port(prefer=DEFAULT_PORT) == DEFAULT_PORT
    state = ["--state-dir", str(tmp_path)]
    try:
        assert runner.invoke(app, ["broker", "start", *state]).exit_code == 0
        info = json.loads(runner.invoke(app, ["broker", "status", "--json", *state]).output)
        assert (info["bootstrap"] == f"127.0.0.1:{DEFAULT_PORT}") == expected_9092
        assert info["log"].startswith(str(tmp_path))
    finally:
        runner.invoke(app, ["broker", "stop", *state])
    assert not list(tmp_path.glob("*.log"))


def test_an_in_process_broker_leaves_no_log_file():
    pattern = f"{tempfile.gettempdir()}/streamlearn-broker-*.log"
    broker = LocalBroker().start()
    mine = str(broker.log_path)
    assert mine in glob.glob(pattern)
    broker.stop()
    assert mine not in glob.glob(pattern)
