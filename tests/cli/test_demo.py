"""``streamlearn demo``: every way out stops the broker; small runs still report (item 13)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from streamlearn.cli.live import RateMeter
from tests.cli._run import SRC, cli

pytestmark = pytest.mark.broker


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_every_signal_stops_the_demo_and_its_broker(sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlearn.cli.main", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": SRC, "COLUMNS": "120"},
    )
    try:
        deadline = time.monotonic() + 60
        brokers: list[int] = []
        while not brokers and time.monotonic() < deadline:
            time.sleep(0.5)
            brokers = [
                c.pid
                for c in psutil.Process(proc.pid).children(recursive=True)
                if "tansu" in " ".join(c.cmdline())
            ]
        time.sleep(4)  # running, with the live view up
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert brokers, "the demo started no broker"
    time.sleep(0.5)
    assert not [
        b
        for b in brokers
        if psutil.pid_exists(b) and psutil.Process(b).status() != psutil.STATUS_ZOMBIE
    ]
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert text.count("╭") == 1, text  # the final panel, once
    assert "Connection refused" not in err.decode()


def test_a_short_late_labels_run_still_has_an_accuracy():
    done = cli("demo", "--scenario", "s4", "--records", "300", "--json", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["predictions_out"] == 300 and result["accuracy"] is not None
    assert "Connection refused" not in done.stderr


def test_rates_are_averaged_over_seconds_not_one_refresh():
    meter = RateMeter(window=3.0)
    for i in range(13):  # a burst of 1,000 records every second, sampled every 0.25 s
        meter.add(i * 0.25, 1000 * (i // 4))
    assert meter.rates()[0] == pytest.approx(1000, rel=0.35)
