"""Per-variant label metrics of an A/B test: with ``label=``, each variant's MAE against
the label column goes to the metrics feed beside its count, equal to the MAE computed
here from the output topic (real broker, ONNX Runtime)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

import streamlearn as sl
from tests.kafka_helpers import consume_all, produce
from tests.serve.houses import FEATURES, SCHEMA, linear_onnx

pytestmark = pytest.mark.broker
N = 4000
STEP = "ml.predict"  # stateful (shadow=, label=): named by its kind


def test_ab_split_reports_each_variants_mae_against_the_label(kafka, topic_factory):
    src, out = topic_factory(partitions=2), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    # the champion reads rooms, the challenger area; the label is close to rooms
    reg.push(
        linear_onnx([1, 0, 0, 0]), name="hp", format="onnx", alias="champion", signature=FEATURES
    )
    reg.push(
        linear_onnx([0, 1, 0, 0]), name="hp", format="onnx", alias="challenger", signature=FEATURES
    )
    rng = np.random.default_rng(3)
    rooms, area = rng.integers(1, 8, N).astype(float), rng.uniform(0, 10, N).round(2)
    truth = (rooms + rng.normal(0, 0.5, N)).round(3)
    values = [
        orjson.dumps(
            {
                "id": i,
                "rooms": float(rooms[i]),
                "area": float(area[i]),
                "age": 0.0,
                "distance": 0.0,
                "y": float(truth[i]),
            }
            | ({} if i % 10 else {"y": None})  # some records have no label yet
        )
        for i in range(N)
    ]
    produce(kafka, src, values, keys=[f"k{i % 700}".encode() for i in range(N)])
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json({**SCHEMA, "y": "float"}, required=list(SCHEMA))
        | sl.ml.predict(
            "hp",
            output="price",
            split={"champion": 0.5, "challenger": 0.5},
            label="y",
            topic=control,
            artifact_topic=arts,
        )
        | sl.write.to_kafka(out, partitions=1)
    )
    stats = sl.run(pipeline, kafka=kafka, name=f"abl-{src}", max_records=N)
    assert stats.records_out == N
    rows = [orjson.loads(m.value()) for m in consume_all(kafka, out, expected=N)]
    for variant in ("champion", "challenger"):
        mine = [r for r in rows if r["model_variant"] == variant]
        labelled = [r for r in mine if r["y"] is not None]
        err = np.array([r["price"] - r["y"] for r in labelled])
        parts = [v for k, v in stats.metrics.items() if k.startswith(f"{STEP}.labels.{variant}[")]
        assert {p["version"] for p in parts} == {1 if variant == "champion" else 2}
        assert sum(p["n"] for p in parts) == len(labelled) < len(mine)
        mae = sum(p["mae"] * p["n"] for p in parts) / len(labelled)
        assert mae == pytest.approx(np.abs(err).mean(), rel=1e-6)
        assert stats.metrics[f"{STEP}.variant.{variant}"] == len(mine)  # beside the counts
    champion = [v for k, v in stats.metrics.items() if k.startswith(f"{STEP}.labels.champion[")]
    challenger = [v for k, v in stats.metrics.items() if k.startswith(f"{STEP}.labels.challenger[")]
    assert max(p["mae"] for p in champion) < min(p["mae"] for p in challenger)
