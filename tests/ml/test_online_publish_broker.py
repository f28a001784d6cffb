"""A learning pipeline (online_classifier with publish=) and a serving pipeline
(sl.ml.predict) on one broker: what the first learned, the second scores with."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

import streamlearn as sl
from streamlearn.serve.learner import load_learner
from tests.kafka_helpers import consume_all, produce

pytestmark = pytest.mark.broker
N, EVERY = 3000, 1000


def test_a_serving_pipeline_scores_with_what_a_learning_pipeline_published(kafka, topic_factory):
    events, labels, out = topic_factory(), topic_factory(), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, 2))
    ids = [f"e{i}".encode() for i in range(N)]
    produce(
        kafka,
        events,
        [
            orjson.dumps({"event_id": i.decode(), "u": u, "v": v})
            for i, (u, v) in zip(ids, x.tolist(), strict=True)
        ],
        keys=ids,
    )
    produce(
        kafka,
        labels,
        [
            orjson.dumps({"event_id": i.decode(), "y": "up" if u > v else "down"})
            for i, (u, v) in zip(ids, x.tolist(), strict=True)
        ],
        keys=ids,
    )
    learning = (
        sl.read.from_kafka(events)
        | sl.decode.json({"event_id": "string", "u": "float", "v": "float"})
        | sl.ml.online_classifier(
            ["u", "v"],
            model=sl.ml.PassiveAggressive(),
            feedback=sl.read.from_kafka(labels),
            publish="direction",
            every=EVERY,
            registry_topic=control,
            artifact_topic=arts,
            name="pa",
        )
        | sl.write.to_kafka(out)
    )
    stats = sl.run(learning, kafka=kafka, name=f"learn-{events}", idle_timeout=3.0)
    assert stats.metrics["pa[0]"]["learned"] == N

    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    versions = reg.list("direction")
    assert [v.version for v in versions] == [1, 2, 3]
    assert [v.metadata["learned"] for v in versions] == [1000, 2000, 3000]
    assert all(v.format == "streamlearn" for v in versions)
    assert reg.resolve("direction").version == 3
    from streamlearn.registry.store import artifact_bytes

    learner = load_learner(artifact_bytes(versions[-1]))

    src, scored = topic_factory(), topic_factory()
    test = rng.normal(size=(400, 2))
    produce(kafka, src, [orjson.dumps({"u": u, "v": v}) for u, v in test.tolist()])
    serving = (
        sl.read.from_kafka(src)
        | sl.decode.json({"u": "float", "v": "float"})
        | sl.ml.predict("direction", output="direction", topic=control, artifact_topic=arts)
        | sl.write.to_kafka(scored)
    )
    run = sl.run(serving, kafka=kafka, name=f"serve-{src}", max_records=400)
    assert run.records_out == 400 and run.dead_lettered == 0
    rows = [orjson.loads(m.value()) for m in consume_all(kafka, scored, expected=400)]
    got = {(r["u"], r["v"]): (r["direction"], r["model_version"]) for r in rows}
    want = learner.predict_batch(test)
    assert [got[(u, v)] for u, v in test.tolist()] == [(w, 3) for w in want.tolist()]
    truth = np.where(test[:, 0] > test[:, 1], "up", "down")
    assert (want == truth).mean() > 0.9
