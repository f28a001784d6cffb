"""SIGKILL an online learner while labels arrive, start it again: the model, the events
waiting for labels and the metrics survive, and no label is learned twice or missed.

The events are all predicted before the first label is produced, so the learner sees
the labels in exactly their topic order, in the killed run and in the restarted one;
the restarted model must then predict exactly what the bare learner predicts after
learning every label once, in that order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import pytest

from streamlearn.ml.learners import PassiveAggressive
from tests.kafka_helpers import consume_all, produce, run_command
from tests.runtime.crash_s4_pipeline import FEATURES
from tests.runtime.test_crash import wait_for_outputs

pytestmark = pytest.mark.broker
HERE = Path(__file__).parent
N, M = 3000, 400


def cli(kafka, name, *extra):
    return run_command(f"{HERE / 'crash_s4_pipeline.py'}:pipeline", kafka, name, *extra)


def finish(kafka, name, env):
    done = subprocess.run(
        cli(kafka, name, "--idle-timeout", "4", "--json"), env=env, capture_output=True, timeout=180
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def events(X, start):
    return [
        orjson.dumps(
            {
                "event_id": f"e{start + i}",
                **{f: float(v) for f, v in zip(FEATURES, row, strict=True)},
            }
        )
        for i, row in enumerate(X)
    ]


def test_sigkill_while_learning_then_restart_is_exact(kafka, topic_factory, monkeypatch):
    ev, lab, out = topic_factory(), topic_factory(), topic_factory()
    for var, topic in (("S4_EVENTS", ev), ("S4_LABELS", lab), ("S4_OUT", out)):
        monkeypatch.setenv(var, topic)
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, N + M)
    X = rng.normal(size=(N + M, 4)) + np.eye(3, 4)[y] * 3.0
    order = rng.permutation(N)  # the order labels arrive in
    label_values = [orjson.dumps({"event_id": f"e{i}", "y": int(y[i])}) for i in order]
    label_keys = [f"e{i}".encode() for i in order]
    name = f"crash-s4-{ev}"
    env = dict(os.environ)

    produce(kafka, ev, events(X[:N], 0), keys=[f"e{i}".encode() for i in range(N)])
    victim = subprocess.Popen(
        cli(kafka, name), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert wait_for_outputs(kafka, out, N) >= N  # every event predicted, none labelled
    feeder = threading.Thread(
        target=lambda: [
            (
                produce(kafka, lab, label_values[i : i + 100], keys=label_keys[i : i + 100]),
                time.sleep(0.1),
            )
            for i in range(0, N, 100)
        ]
    )
    feeder.start()
    time.sleep(1.5)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    feeder.join()

    stats = finish(kafka, name, env)
    assert stats["restored_partitions"] == [0]
    assert 0 < stats["records_in"] < N, "the kill came too early or too late"
    report = stats["metrics"]["pa[0]"]
    assert report["learned"] == N and report["duplicate_labels"] == 0
    assert report["pending_events"] == 0 and report["waiting_labels"] == 0

    # the restarted model is the one that learned every label once, in order
    produce(kafka, ev, events(X[N:], N), keys=[f"e{N + i}".encode() for i in range(M)])
    stats = finish(kafka, name, env)
    assert stats["metrics"]["pa[0]"]["pending_events"] == M
    by_id = {}
    for m in consume_all(kafka, out, expected=N + M):
        by_id.setdefault(orjson.loads(m.value())["event_id"], orjson.loads(m.value()))
    assert len(by_id) == N + M
    got = np.array([by_id[f"e{N + i}"]["prediction"] for i in range(M)])
    reference = PassiveAggressive(C=0.5).learn_batch(X[order], y[order])
    np.testing.assert_array_equal(got, reference.predict_batch(X[N:]))
