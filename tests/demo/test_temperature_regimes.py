"""``streamlearn demo --scenario temperature-regimes`` (S2): the offline job pushes the
model to the demo broker's registry, the stream is scored with it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.cli._run import SRC, cli

pytestmark = pytest.mark.broker
DEMO = [sys.executable, "-m", "streamlearn.cli.main", "demo"]


def test_the_s2_demo_trains_pushes_and_scores_every_reading():
    done = cli("demo", "--scenario", "s2", "--records", "3000", "--json", timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["records_in"] == 3000
    # every reading scored or, for the few malformed ones mixed in, dead-lettered
    assert result["records_out"] + result["dead_lettered"] == 3000
    assert result["dead_lettered"] < 30
    assert result["model_version"] == 1 and result["k"] == 6 and result["accuracy"] >= 0.97
    assert [round(c) for c in result["centres"]] == [43, 48, 53, 58, 63, 68]
    assert result["topics"] == {"in": "example_1", "out": "example_2"}
    assert "Connection refused" not in done.stderr


def test_the_live_s2_demo_says_it_trains_and_serves_its_board_with_the_series():
    proc = subprocess.Popen(
        [*DEMO, "--scenario", "s2", "--rate", "500", "--dashboard-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC, "COLUMNS": "120"},
    )
    try:
        said: list[str] = []
        url = None
        while url is None:
            line = proc.stdout.readline()
            assert line, f"the demo ended: {said} {proc.stderr.read()[-2000:]}"
            said.append(line.strip())
            url = next(iter(re.findall(r"Live dashboard on (http://\S+/)", line)), None)
        assert any(s.startswith("Training the S2 model on 50,000 readings") for s in said), said
        assert any(re.match(r"Trained s2-regimes v1: k = 6, test accuracy", s) for s in said)
        deadline = time.monotonic() + 60
        series: dict = {}
        while time.monotonic() < deadline and len(series.get("points", [])) < 20:
            time.sleep(0.5)
            with urllib.request.urlopen(url + "api/state", timeout=10) as r:
                (series,) = json.loads(r.read())["series"]
        assert series["topic"] == "example_2" and series["time"] == "time"
        assert series["columns"] == ["Temperature", "prediction"]
        assert len(series["points"]) >= 20, series
        assert all(40 <= p[1] <= 70 and 0 <= p[4] < 6 for p in series["points"])
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "Connection refused" not in err
