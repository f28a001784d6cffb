"""A/B tests with ``sl.ml.predict(split=...)``: records are routed to the champion or the
challenger by a stable hash of their key (real broker, ONNX Runtime)."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

import streamlearn as sl
from tests.kafka_helpers import consume_all, produce
from tests.serve.houses import FEATURES, SCHEMA, linear_onnx

pytestmark = pytest.mark.broker
N, KEYS = 100_000, 20_000


def test_split_shares_and_one_variant_per_key(kafka, topic_factory):
    src, out = topic_factory(partitions=2), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    # two linear models that are told apart by their prediction
    reg.push(
        linear_onnx([1, 0, 0, 0]), name="hp", format="onnx", alias="champion", signature=FEATURES
    )
    reg.push(
        linear_onnx([0, 1, 0, 0]), name="hp", format="onnx", alias="challenger", signature=FEATURES
    )
    rng = np.random.default_rng(7)
    keys = rng.integers(0, KEYS, N)
    values = [
        orjson.dumps({"id": i, "rooms": 1.0, "area": 2.0, "age": 0.0, "distance": 0.0})
        for i in range(N)
    ]
    produce(kafka, src, values, keys=[f"k{k}".encode() for k in keys])
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict(
            "hp",
            output="price",
            split={"champion": 0.9, "challenger": 0.1},
            topic=control,
            artifact_topic=arts,
        )
        | sl.write.to_kafka(out, partitions=1)
    )
    stats = sl.run(pipeline, kafka=kafka, name=f"ab-{src}", max_records=N)
    assert stats.records_out == N and stats.dead_lettered == 0
    variant_of: dict[bytes, str] = {}
    counts = {"champion": 0, "challenger": 0}
    for m in consume_all(kafka, out, expected=N):
        row = orjson.loads(m.value())
        variant = row["model_variant"]
        counts[variant] += 1
        # the variant's own model scored it: champion reads rooms (1), challenger area (2)
        assert row["price"] == pytest.approx(1.0 if variant == "champion" else 2.0)
        assert row["model_version"] == (1 if variant == "champion" else 2)
        assert variant_of.setdefault(m.key(), variant) == variant  # one key, one variant
    share = counts["challenger"] / N
    # keys, not records, are split: 20k keys give a share within ~±0.5% of 0.1
    assert abs(share - 0.1) < 0.01, counts
    metrics = stats.metrics
    assert sum(v for k, v in metrics.items() if ".variant." in k) == N
