"""SIGKILL a pipeline that trains a torch network on mini-batches, start it again: the
model is the one an uninterrupted run trains, the registry got a version on every
cadence point (each the same bytes as the uninterrupted run's), and a serving pipeline
scores with the last one."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest
import torch

import streamlearn as sl
from streamlearn.core.operator import Context
from streamlearn.ml.publish import published_artifact, published_table
from streamlearn.registry.records import parse_record
from tests.kafka_helpers import consume_all, produce, run_command
from tests.ml.minibatch.models import frame
from tests.ml.minibatch.train_pipeline import BATCH, EVERY, FEATURES, training
from tests.runtime.test_crash import wait_for_commit, wait_for_outputs

pytestmark = pytest.mark.broker
HERE = Path(__file__).parent
N = 64 * 400 + 10  # 400 mini-batches and an incomplete one; 20 versions


def offline(df: pl.DataFrame, control: str, arts: str):
    """The same training over the same records in one go: the versions it publishes."""
    op = training(control, arts)
    ctx = Context()
    step = op.build()
    step.process(sl.Batch.from_frame(df), ctx)
    table = published_table(ctx, op.publish)
    return step, {v: published_artifact(ctx, op.publish, "clf", v) for v in table.versions["clf"]}


@pytest.mark.parametrize("delivery", ["at-least-once", "exactly-once"])
def test_sigkill_while_training_loses_and_repeats_no_mini_batch(
    kafka, topic_factory, monkeypatch, delivery
):
    src, out = topic_factory(), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    for var, topic in (("SRC", src), ("OUT", out), ("CONTROL", control), ("ARTS", arts)):
        monkeypatch.setenv(f"TRAIN_{var}", topic)
    df = frame(N, seed=4).select(*FEATURES, "y")
    values = [orjson.dumps(r) for r in df.iter_rows(named=True)]
    name = f"train-{src}"
    cmd = run_command(f"{HERE / 'train_pipeline.py'}:pipeline", kafka, name, "--delivery", delivery)

    produce(kafka, src, values[:2000])
    feeder = threading.Thread(
        target=lambda: [
            (produce(kafka, src, values[i : i + 2000]), time.sleep(0.3))
            for i in range(2000, N, 2000)
        ]
    )
    victim = subprocess.Popen(
        cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    feeder.start()
    seen = wait_for_outputs(kafka, out, 5000, timeout=90)
    wait_for_commit(kafka, name, src)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    feeder.join()
    assert 5000 <= seen < N, f"kill came too late or too early ({seen} outputs)"
    before = {m.key() for m in consume_all(kafka, control)}
    assert 0 < len([k for k in before if k.startswith(b"version/")]) < N // EVERY

    done = subprocess.run(
        [*cmd, "--idle-timeout", "4", "--json"],
        env=dict(os.environ),
        capture_output=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    stats = orjson.loads(done.stdout.decode().strip().splitlines()[-1])
    assert stats["restored_partitions"] == [0] and stats["records_in"] < N
    report = stats["metrics"]["train[0]"]
    assert report["batches"] == N // BATCH and report["buffered"] == N % BATCH
    assert report["versions_published"] == N // EVERY

    # every record passed through (at least once)
    ids = {dict(m.headers())["sl-id"] for m in consume_all(kafka, out, expected=N)}
    assert len(ids) == N

    # the registry: versions 1..20, each on its cadence point, each the bytes of the
    # uninterrupted run's version (same weights); a version produced again after the
    # restart is the same artifact
    step, expected = offline(df, control, arts)
    shas = defaultdict(set)
    for m in consume_all(kafka, control):
        rec = parse_record(m.key(), m.value())
        if rec is not None and m.key().startswith(b"version/"):
            shas[rec.version].add(rec.sha256)
    assert sorted(shas) == list(range(1, N // EVERY + 1))
    assert all(len(s) == 1 for s in shas.values())
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    table = reg.table()
    for v, data in expected.items():
        rec = table.get("clf", v)
        assert rec.metadata["learned"] == v * EVERY
        assert shas[v] == {sl.registry.store.sha256_hex(data)}, f"v{v} differs"
    assert table.alias("clf", "champion").version == N // EVERY

    # a serving pipeline elsewhere scores with the last version
    score_src, scored = topic_factory(), topic_factory()
    test = frame(500, seed=9).select(*FEATURES)
    produce(kafka, score_src, [orjson.dumps(r) for r in test.iter_rows(named=True)])
    serving = (
        sl.read.from_kafka(score_src)
        | sl.decode.json({f: "float" for f in FEATURES})
        | sl.ml.predict(
            "clf", features=FEATURES, output="label", topic=control, artifact_topic=arts
        )
        | sl.write.to_kafka(scored)
    )
    run = sl.run(serving, kafka=kafka, name=f"serve-{score_src}", max_records=500)
    assert run.records_out == 500 and run.dead_lettered == 0
    rows = sorted(
        (orjson.loads(m.value()) for m in consume_all(kafka, scored, expected=500)),
        key=lambda r: (r["a"], r["b"]),
    )
    module = step.adapter.module.eval()
    x = np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).argmax(1).numpy()
    assert [r["model_version"] for r in rows] == [N // EVERY] * 500
    np.testing.assert_array_equal([r["label"] for r in rows], want)
