"""An unreachable cluster is one line, fast, and librdkafka never floods stderr
(issue 8, item 8)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from streamlearn.core.errors import BrokerError
from streamlearn.kafka.config import KafkaConfig
from streamlearn.kafka.connect import check_reachable
from streamlearn.kafka.local_broker import free_port

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        text=True,
        capture_output=True,
        timeout=timeout,
        env={"PYTHONPATH": SRC},
    )


def test_closed_port_is_one_line_within_seconds_and_nothing_on_stderr():
    port = free_port()
    started = time.monotonic()
    done = _python(f"""
        from streamlearn.core.errors import BrokerError
        from streamlearn.kafka.config import KafkaConfig
        from streamlearn.kafka.connect import check_reachable
        try:
            check_reachable(KafkaConfig(bootstrap_servers="127.0.0.1:{port}"))
        except BrokerError as exc:
            print(exc)
        """)
    took = time.monotonic() - started
    assert done.stdout.splitlines() == [
        f"cannot reach Kafka at 127.0.0.1:{port}: connection refused "
        f"(is the broker running? streamlearn broker start)"
    ]
    assert done.stderr == ""
    assert took < 6, f"{took:.1f} s"


def test_clients_route_librdkafka_lines_through_logging_deduplicated():
    port = free_port()
    code = f"""
        import logging, sys, time
        {{setup}}
        from streamlearn.kafka.clients import make_consumer
        from streamlearn.kafka.config import KafkaConfig
        c = make_consumer(KafkaConfig(bootstrap_servers="127.0.0.1:{port}"), "g")
        c.subscribe(["t"])
        end = time.monotonic() + 3
        while time.monotonic() < end:
            c.consume(10, 0.2)
        """
    quiet = _python(code.replace("{setup}", "pass"))
    assert "Connect to" not in quiet.stderr and "failed" not in quiet.stderr, quiet.stderr
    shown = _python(code.replace("{setup}", "logging.basicConfig(level=logging.INFO)"))
    lines = [ln for ln in shown.stderr.splitlines() if "Connect to" in ln]
    assert lines and all("streamlearn.kafka.librdkafka" in ln for ln in lines)
    assert len(lines) <= 2, shown.stderr  # 3 s of reconnects: one line (not ~50)


def test_unknown_host_is_named():
    with pytest.raises(BrokerError, match=r"unknown host 'no-such-host\.invalid'"):
        check_reachable(KafkaConfig(bootstrap_servers="no-such-host.invalid:9092"), timeout=5)


def test_silence_is_reported_after_the_timeout():
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        where = f"127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(BrokerError, match=r"no answer within 1\.5 s") as info:
            check_reachable(KafkaConfig(bootstrap_servers=where), timeout=1.5)
        assert time.monotonic() - started < 4
    assert "\n" not in str(info.value) and where in str(info.value)


@pytest.mark.broker
def test_a_running_broker_is_reachable(kafka):
    check_reachable(kafka, timeout=5)


@pytest.mark.broker
def test_authentication_failure_is_named(kafka):
    bad = KafkaConfig(
        bootstrap_servers=kafka.bootstrap_servers,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password="hunter2",
    )
    with pytest.raises(BrokerError, match="authentication failed") as info:
        check_reachable(bad, timeout=5)
    assert "hunter2" not in str(info.value)
