"""Several models on one stream: ``sl.ml.predict([...])`` in one step, and two predict
steps in one pipeline; each output equals its model's own predictions and carries one
``sl-model-version`` header per model (real broker, ONNX Runtime)."""

from __future__ import annotations

import orjson
import pytest
from sklearn.ensemble import GradientBoostingRegressor

import streamlearn as sl
from streamlearn.core.errors import ConfigError
from tests.kafka_helpers import consume_all, produce
from tests.serve.houses import FEATURES, SCHEMA, houses, records, trained

pytestmark = pytest.mark.broker


@pytest.fixture
def two_models(kafka, topic_factory):
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    m1, m2 = trained(50, 3), trained(30, 2, seed=3)
    reg.push(m1, name="house-price", alias="champion", signature=FEATURES)
    # the second model reads three of the features, in another order
    train = houses(2000, seed=9)
    risk = GradientBoostingRegressor(n_estimators=20, max_depth=2, random_state=0)
    risk.fit(train.select(["age", "rooms", "area"]).to_numpy(), train["age"].to_numpy() * 0.1)
    reg.push(risk, name="house-risk", alias="champion", signature=["age", "rooms", "area"])
    reg.push(m2, name="house-risk", signature=FEATURES)  # v2, not the champion: unused
    return control, arts, m1, risk


def run_and_read(kafka, topic_factory, predict_ops, n=1500):
    src, out = topic_factory(partitions=2), topic_factory()
    stream = houses(n, seed=21)
    produce(kafka, src, records(stream), keys=[str(i).encode() for i in stream["id"]])
    pipeline = sl.read.from_kafka(src) | sl.decode.json(SCHEMA)
    for op in predict_ops:
        pipeline = pipeline | op
    pipeline = pipeline | sl.write.to_kafka(out, partitions=1)
    stats = sl.run(pipeline, kafka=kafka, name=f"multi-{src}", max_records=n)
    assert stats.records_out == n and stats.dead_lettered == 0
    return stream, consume_all(kafka, out, expected=n), stats


def check(stream, msgs, m1, risk, price_col, risk_col, price_ver, risk_ver):
    want_price = m1.predict(stream.select(FEATURES).to_numpy())
    want_risk = risk.predict(stream.select(["age", "rooms", "area"]).to_numpy())
    assert len(msgs) == stream.height
    for m in msgs:
        row = orjson.loads(m.value())
        i = row["id"]
        assert row[price_col] == pytest.approx(want_price[i], rel=1e-4, abs=1e-3)
        assert row[risk_col] == pytest.approx(want_risk[i], rel=1e-4, abs=1e-3)
        assert row[price_ver] == 1 and row[risk_ver] == 1
        versions = [v for k, v in m.headers() if k == "sl-model-version"]
        assert sorted(versions) == [b"house-price:1", b"house-risk:1"]


def test_several_models_in_one_step(kafka, topic_factory, two_models):
    control, arts, m1, risk = two_models
    op = sl.ml.predict(["house-price", "house-risk"], topic=control, artifact_topic=arts)
    stream, msgs, stats = run_and_read(kafka, topic_factory, [op])
    # output columns: the model names with "-" as "_", and "<output>_version"
    check(
        stream,
        msgs,
        m1,
        risk,
        "house_price",
        "house_risk",
        "house_price_version",
        "house_risk_version",
    )
    assert stats.metrics["1-ml.predict.version.house-risk"] == 1


def test_several_models_with_named_outputs(kafka, topic_factory, two_models):
    control, arts, m1, risk = two_models
    op = sl.ml.predict(
        ["house-price", "house-risk"], output=["price", "risk"], topic=control, artifact_topic=arts
    )
    stream, msgs, _ = run_and_read(kafka, topic_factory, [op], n=500)
    check(stream, msgs, m1, risk, "price", "risk", "price_version", "risk_version")


def test_two_predict_steps_in_one_pipeline(kafka, topic_factory, two_models):
    control, arts, m1, risk = two_models
    ops = [
        sl.ml.predict("house-price", output="price", topic=control, artifact_topic=arts),
        sl.ml.predict(
            "house-risk",
            output="risk",
            version_column="risk_version",
            topic=control,
            artifact_topic=arts,
        ),
    ]
    stream, msgs, _ = run_and_read(kafka, topic_factory, ops, n=500)
    check(stream, msgs, m1, risk, "price", "risk", "model_version", "risk_version")


def test_several_models_refuse_what_takes_one():
    with pytest.raises(ConfigError, match="one name per model"):
        sl.ml.predict(["a", "b"], output="price")
    with pytest.raises(ConfigError, match=r"its own sl\.ml\.predict step"):
        sl.ml.predict(["a", "b"], shadow="challenger")
    with pytest.raises(ConfigError, match="named twice"):
        sl.ml.predict(["a", "a"])
