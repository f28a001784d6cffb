"""Acceptance test of scenario S2's online half, end to end, with crashes.

The S2 model is trained offline (``sl.train.regimes``) and pushed to a registry; a
producer replays the 50,000 readings into ``example_1``; the scoring job
(``tests/scenarios/s2_pipelines.py:scoring``) scores each reading with the registry's
model and writes ``{time, prediction, Temperature}`` to ``example_2``; the InfluxDB job
(``:to_influx``) writes ``example_2`` to InfluxDB 1.6. Both jobs are SIGKILLed mid-run
(the scoring job from outside, at a random point; the InfluxDB job right after a flush,
before its offsets are committed) and restarted: a query must then return exactly the
expected series, one point per reading at its time, with its temperature and the
model's label for it, nothing doubled and nothing missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import orjson
import pytest

import streamlearn as sl
from streamlearn.datasets.synth import generate_temperature, generate_temperature_frame
from streamlearn.train.export import onnx_labels
from tests.kafka_helpers import consume_all, produce, run_command

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]
N = 50_000


def points(influxd, db: str) -> list[list]:
    """``[ms since the epoch, prediction, Temperature]`` of every point, in time order."""
    q = 'SELECT "prediction", "Temperature" FROM "example_2" ORDER BY time'
    body = urllib.parse.urlencode({"q": q, "db": db, "epoch": "ms"}).encode()
    with urllib.request.urlopen(f"{influxd.url}/query", data=body, timeout=60) as r:
        result = orjson.loads(r.read())["results"][0]
    assert "error" not in result, result
    return result.get("series", [{}])[0].get("values", [])


def test_s2_scores_a_replay_into_influxdb_exactly_once_across_crashes(
    kafka, topic_factory, influxd, influx_db, tmp_path
):
    example_1, example_2 = topic_factory(prefix="example_1"), topic_factory(prefix="example_2")
    control, artifacts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    model = f"s2-{uuid.uuid4().hex[:6]}"

    # offline: train on the readings and push the model (the registry is the handover)
    frame = generate_temperature_frame(N, seed=21)
    report = sl.train.regimes(
        frame,
        out=tmp_path / "model",
        name=model,
        kafka=kafka,
        registry_topic=control,
        artifact_topic=artifacts,
    )
    assert report.k == 6 and report.version == 1 and report.onnx_mismatches == 0

    env = dict(
        os.environ,
        PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        S2_IN=example_1,
        S2_OUT=example_2,
        S2_MODEL=model,
        S2_CONTROL=control,
        S2_ARTIFACTS=artifacts,
        S2_INFLUX_URL=influxd.url,
        S2_INFLUX_DB=influx_db,
    )
    scoring = run_command("tests.scenarios.s2_pipelines:scoring", kafka, f"s2-score-{model}")
    to_influx = run_command("tests.scenarios.s2_pipelines:to_influx", kafka, f"s2-db-{model}")

    def start(cmd, **extra):
        return subprocess.Popen(
            cmd, env=dict(env, **extra), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    # online: both jobs run while the producer replays the readings into example_1
    scorer = start(scoring)
    writer = start(to_influx, SINK_KILL_AT_FLUSH="2")
    values = generate_temperature(N, seed=21)
    third = N // 3
    produce(kafka, example_1, values[:third])
    # one reader for the whole wait: each new reader takes seconds to join its group
    seen = consume_all(kafka, example_2, expected=third // 2, timeout=90)
    assert len(seen) >= third // 2, scorer.poll() is None or scorer.stderr.read().decode()
    scorer.send_signal(signal.SIGKILL)  # the scoring job dies mid-stream
    assert scorer.wait(10) == -signal.SIGKILL
    produce(kafka, example_1, values[third:])
    # restarted, the scoring job finishes the stream (and stops after 4 idle seconds)
    done = subprocess.run(
        [*scoring, "--idle-timeout", "4"], env=env, cwd=ROOT, capture_output=True, timeout=240
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert writer.wait(120) == -signal.SIGKILL, writer.stderr.read().decode()[-2000:]
    partial = points(influxd, influx_db)
    assert 0 < len(partial) <= N  # the InfluxDB job died right after writing points
    done = subprocess.run(
        [*to_influx, "--idle-timeout", "4", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    # the points of the killed flush had no committed offsets: the restart read them again
    assert json.loads(done.stdout.decode().strip().splitlines()[-1])["records_in"] > 0

    # example_2 holds every reading at least once, each copy scored the same way
    scored: dict[str, dict] = {}
    for m in consume_all(kafka, example_2, expected=N):
        row = orjson.loads(m.value())
        sid = dict(m.headers())["sl-id"].decode()
        assert scored.setdefault(sid, row) == row
    assert len(scored) == N

    # the series: exactly one point per reading, at its time, with its model label
    temps = frame["Temperature"].to_numpy()
    labels = onnx_labels(report.model_path.read_bytes(), temps[:, None].astype(np.float64))
    times = frame["time"].dt.epoch("ms").to_list()
    expected = [[t, int(p), int(v)] for t, p, v in zip(times, labels, temps, strict=True)]
    got = points(influxd, influx_db)
    assert len(got) == N
    assert got == expected
    # and the model's labels are the regimes k-means found, ordered by temperature
    assert sorted({p for _, p, _ in got}) == list(range(6))
    by_label = [temps[labels == j].mean() for j in range(6)]
    assert by_label == sorted(by_label)
