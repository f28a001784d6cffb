"""Bad models and bad control records reach a running pipeline: each is refused and
reported, and the version that was scoring keeps scoring (real broker, ONNX Runtime).

Pushing through :meth:`Registry.push` refuses most of them before anything is written;
the serving side must refuse them too, because any process can write the control topic,
so the test also writes broken records directly.
"""

from __future__ import annotations

import base64
import threading
import time

import numpy as np
import orjson
import pytest
import skops.io as sio
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import streamlearn as sl
from streamlearn.registry.records import Alias, ModelVersion, RecordError, Signature
from streamlearn.registry.store import ArtifactError, plan_artifact, sha256_hex
from streamlearn.serve import ModelLoadError
from tests.kafka_helpers import consume_all, produce
from tests.serve.houses import FEATURES, SCHEMA, houses, linear_onnx, records, shifted, trained

pytestmark = pytest.mark.broker


def crafted(name, version, data, *, sha=None, artifact=None):
    return ModelVersion(
        name=name,
        version=version,
        format="onnx",
        sha256=sha or sha256_hex(data),
        size=len(data),
        signature=Signature.of(FEATURES),
        created_at=time.time(),
        artifact=artifact or {"inline": base64.b64encode(data).decode()},
    )


def test_bad_models_and_records_leave_the_running_version_scoring(kafka, topic_factory):
    src, out = topic_factory(partitions=2), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    good = trained(50, 3)
    reg.push(good, name="hp", alias="champion", signature=FEATURES)
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict("hp", output="price", topic=control, artifact_topic=arts)
        | sl.write.to_kafka(out, partitions=1)
    )
    runner = sl.Runner(pipeline, kafka=kafka, options=sl.RunOptions(name=f"bad-{src}"))
    worker = threading.Thread(target=runner.run)
    worker.start()
    stream = houses(4000, seed=3)
    values = records(stream)
    sent = 0

    def feed(n):  # some records, then wait until they are through
        nonlocal sent
        produce(
            kafka,
            src,
            values[sent : sent + n],
            keys=[str(i).encode() for i in range(sent, sent + n)],
        )
        sent += n
        deadline = time.monotonic() + 60
        while runner.stats.records_out + runner.stats.dead_lettered < sent:
            assert time.monotonic() < deadline, "pipeline stalled"
            time.sleep(0.05)

    def point(version):
        reg.publish(*Alias("hp", "champion", version, (1,), time.time()).to_record())

    onnx_ok = linear_onnx([1, 2, 3, 4])
    try:
        feed(400)
        # 1. a flipped byte in an inline artifact
        flipped = bytearray(onnx_ok)
        flipped[len(flipped) // 2] ^= 0x01
        rec = crafted("hp", 2, onnx_ok, artifact={"inline": base64.b64encode(flipped).decode()})
        reg.publish(*rec.to_record())
        point(2)
        feed(400)
        # 2. a wrong digest on a chunked artifact (the chunks themselves intact)
        art, chunks = plan_artifact("hp", 3, onnx_ok, topic=arts, inline_max=64, chunk_bytes=100)
        produce(kafka, arts, [v for _, v in chunks], keys=[k for k, _ in chunks])
        reg.publish(*crafted("hp", 3, onnx_ok, sha="0" * 64, artifact=art).to_record())
        point(3)
        feed(400)
        # 3. a skops file naming an untrusted type: refused at push, and when written anyway
        risky = make_pipeline(FunctionTransformer(shifted), trained(5, 2))
        risky.fit(stream.select(FEATURES).to_numpy(), stream["price"].to_numpy())
        with pytest.raises(ModelLoadError, match="untrusted types"):
            reg.push(risky, name="hp", format="skops", signature=FEATURES)
        reg.push(
            sio.dumps(risky),
            name="hp",
            format="skops",
            signature=FEATURES,
            alias="champion",
            check=False,
        )
        feed(400)
        # 4. ONNX input names that are not the signature's features
        wrong = linear_onnx([1, 2, 3, 4], input_names=["a", "b", "c", "d"])
        with pytest.raises(ModelLoadError, match="do not match"):
            reg.push(wrong, name="hp", format="onnx", signature=FEATURES)
        reg.push(wrong, name="hp", format="onnx", signature=FEATURES, alias="champion", check=False)
        feed(400)
        # 5. control records that are not valid
        reg.publish(b"version/hp/9", b"{not json")
        reg.publish(b"alias/hp/champion", orjson.dumps({"type": "alias", "name": "hp"}))
        reg.publish(
            b"version/hp/10",
            orjson.dumps({"type": "version", "name": "hp", "version": 10, "format": "pmml"}),
        )
        feed(400)
        # 6. a 50 MB model: over a given limit it is refused before anything is written;
        # under the default limit it is chunked and, verified, takes over
        big = linear_onnx([1, 2, 3, 4], padding_mb=50)
        with pytest.raises(ArtifactError, match="over the limit"):
            reg.push(big, name="hp", format="onnx", signature=FEATURES, max_bytes=32_000_000)
        before = runner.stats.metrics.get("1-ml.predict.load_errors", 0)
        feed(400)
        v_big = reg.push(big, name="hp", format="onnx", signature=FEATURES, alias="champion")
        assert v_big.artifact["chunks"] == 59
        deadline = time.monotonic() + 60
        while runner.stats.metrics.get("1-ml.predict.version") != v_big.version:
            assert time.monotonic() < deadline, runner.stats.metrics
            feed(20)  # swaps happen between batches: v1 scores until the chunks are in
        feed(400)
    finally:
        runner.stop()
        worker.join(30)
    metrics = runner.stats.metrics
    assert v_big.version == 6  # refused pushes took no number; versions 2-5 were broken
    assert metrics["1-ml.predict.load_errors"] == before
    assert before >= 4 * 2  # four broken versions, each refused by both partitions' steps
    # the run's table parses each control record once, whichever partition's step saw it
    assert metrics["1-ml.predict.invalid_control_records"] >= 3
    rows = [orjson.loads(m.value()) for m in consume_all(kafka, out, expected=sent)]
    assert len(rows) == sent and runner.stats.dead_lettered == 0
    X = stream.select(FEATURES).to_numpy()
    expect_good, expect_big = good.predict(X), X @ np.array([1, 2, 3, 4])
    for r in rows:
        assert r["model_version"] in (1, 6), r
        want = (expect_good if r["model_version"] == 1 else expect_big)[r["id"]]
        assert abs(r["price"] - want) <= 1e-4 * abs(want) + 1e-3
    assert sum(r["model_version"] == 1 for r in rows) >= 2400
    assert sum(r["model_version"] == 6 for r in rows) >= 400
    assert reg.show("hp")["versions"][-1]["stored"] == f"59 chunks on {arts}"


def test_invalid_records_are_one_line_errors():
    with pytest.raises(RecordError, match="unknown format 'pmml'"):
        from streamlearn.registry.records import parse_record

        parse_record(
            b"version/hp/1",
            orjson.dumps({"type": "version", "name": "hp", "version": 1, "format": "pmml"}),
        )
