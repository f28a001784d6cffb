"""The shadow's agreement and the label metrics of ``sl.ml.predict`` survive a restart:
a run stopped after N records (cleanly, or by SIGKILL) and started again from its
checkpoint reports, after M more, exactly the figures of a run that never stopped over
the N + M records; a new version afterwards still starts its figures over (real broker,
scikit-learn models from the registry)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import streamlearn as sl
from streamlearn.serve import fold
from tests.kafka_helpers import produce, run_command
from tests.runtime.test_crash import wait_for_commit, wait_for_outputs
from tests.serve.houses import FEATURES
from tests.serve.restart_pipeline import build
from tests.serve.test_shadow import classifier_rows

pytestmark = pytest.mark.broker
HERE = Path(__file__).parent
STEP = "ml.predict"


def setup(kafka, topic_factory):
    """Topics, and a champion and a challenger that disagree on some houses."""
    t = {
        "src": topic_factory(partitions=2),
        "control": topic_factory(prefix="models"),
        "arts": topic_factory(prefix="arts"),
    }
    reg = sl.registry.Registry(kafka, topic=t["control"], artifact_topic=t["arts"])
    train, y_train, _ = classifier_rows(3000, seed=123)
    X = train.select(FEATURES).to_numpy()
    champion = LogisticRegression(max_iter=2000).fit(X, y_train)
    reg.push(champion, name="exp", alias="champion", signature=FEATURES)
    challenger = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y_train)
    reg.push(challenger, name="exp", alias="challenger", signature=FEATURES)
    return t, reg, challenger


def pipe(t, topic_factory):
    return build(t["src"], topic_factory(), topic_factory(prefix="sh"), t["control"], t["arts"])


def keys(n, start=0):
    return [str(start + i).encode() for i in range(n)]


def reports(metrics):
    """The evaluation's per-partition reports: shadow[p] and labels.<variant>[p]."""
    return {
        k: v for k, v in metrics.items() if k.startswith((f"{STEP}.shadow[", f"{STEP}.labels."))
    }


def reference(kafka, t, topic_factory, total):
    """The figures of a run that never stopped, over the same records."""
    stats = sl.run(pipe(t, topic_factory), kafka=kafka, name=f"ref-{t['src']}", max_records=total)
    got = reports(stats.metrics)
    assert {k.split("[")[0] for k in got} == {
        f"{STEP}.shadow",
        f"{STEP}.labels.champion",
        f"{STEP}.labels.challenger",
    }
    assert len(got) == 6  # three reports per partition
    assert fold(v for k, v in got.items() if ".shadow[" in k)["n"] == total
    return got


def test_stopped_and_restarted_the_figures_continue(kafka, topic_factory):
    t, reg, challenger = setup(kafka, topic_factory)
    N, M, K = 1200, 800, 500
    _, _, rows = classifier_rows(N + M + K, seed=9)
    name = f"restart-{t['src']}"
    produce(kafka, t["src"], rows[:N], keys=keys(N))
    first = sl.run(pipe(t, topic_factory), kafka=kafka, name=name, max_records=N)
    assert first.records_in == N and first.restored_partitions == []
    assert fold(v for k, v in reports(first.metrics).items() if ".shadow[" in k)["n"] == N

    produce(kafka, t["src"], rows[N : N + M], keys=keys(M, N))
    again = sl.run(pipe(t, topic_factory), kafka=kafka, name=name, max_records=M)
    assert again.records_in == M and sorted(again.restored_partitions) == [0, 1]
    assert reports(again.metrics) == reference(kafka, t, topic_factory, N + M)

    # a new challenger version: its agreement and its label metrics start over, the
    # champion's label metrics go on
    reg.push(challenger, name="exp", alias="challenger", signature=FEATURES)
    produce(kafka, t["src"], rows[N + M :], keys=keys(K, N + M))
    third = sl.run(pipe(t, topic_factory), kafka=kafka, name=name, max_records=K)
    got = reports(third.metrics)
    shadow = [v for k, v in got.items() if ".shadow[" in k]
    assert {(r["main_version"], r["shadow_version"]) for r in shadow} == {(1, 3)}
    assert fold(shadow)["n"] == K
    assert sum(v["n"] for k, v in got.items() if ".labels.challenger[" in k) == K
    assert sum(v["n"] for k, v in got.items() if ".labels.champion[" in k) == N + M + K


def test_sigkilled_and_restarted_the_figures_are_exact(kafka, topic_factory, monkeypatch):
    t, _, _ = setup(kafka, topic_factory)
    out, shadow = topic_factory(), topic_factory(prefix="sh")
    env_topics = {"SRC": t["src"], "OUT": out, "SHADOW": shadow}
    for var, topic in {**env_topics, "CONTROL": t["control"], "ARTS": t["arts"]}.items():
        monkeypatch.setenv(f"RS_{var}", topic)
    total = 8000
    _, _, rows = classifier_rows(total, seed=21)
    name = f"kill-{t['src']}"
    env = dict(os.environ)

    def cli(*extra):
        return run_command(f"{HERE / 'restart_pipeline.py'}:pipeline", kafka, name, *extra)

    # the stream arrives over ~3 s, so the pipeline is killed in the middle of it
    produce(kafka, t["src"], rows[:1000], keys=keys(1000))
    feeder = threading.Thread(
        target=lambda: [
            (produce(kafka, t["src"], rows[i : i + 500], keys=keys(500, i)), time.sleep(0.2))
            for i in range(1000, total, 500)
        ]
    )
    victim = subprocess.Popen(cli(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    feeder.start()
    seen = wait_for_outputs(kafka, out, 2000)
    wait_for_commit(kafka, name, t["src"])  # else the kill leaves nothing to restore
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    feeder.join()
    assert 2000 <= seen < total, f"the kill came too late or too early ({seen} outputs)"

    done = subprocess.run(
        cli("--idle-timeout", "4", "--json"), env=env, capture_output=True, timeout=180
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    stats = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert sorted(stats["restored_partitions"]) == [0, 1]
    assert stats["records_in"] < total  # it resumed; it did not start over
    got = reports(stats["metrics"])
    want = reference(kafka, t, topic_factory, total)
    assert got == want
    assert fold(v for k, v in got.items() if ".shadow[" in k)["n"] == total
