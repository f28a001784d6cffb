"""Shadow tests with ``sl.ml.predict(shadow="challenger")``: the challenger scores the same
records, its rows go only to the shadow topic, and the agreement metrics equal a
comparison computed here from both topics and offline from the two models (real broker,
ONNX Runtime)."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import streamlearn as sl
from streamlearn.serve import fold
from tests.kafka_helpers import consume_all, produce
from tests.serve.houses import FEATURES, SCHEMA, houses, linear_onnx, records, trained
from tests.serve.restart_pipeline import build

pytestmark = pytest.mark.broker
STEP = "ml.predict"  # stateful (shadow=, label=): named by its kind


def by_id(msgs):
    """sl-id -> (row, headers) of each record (each id once)."""
    out = {}
    for m in msgs:
        heads = m.headers()
        rid = dict(heads)["sl-id"]
        assert rid not in out, rid
        out[rid] = (orjson.loads(m.value()), heads)
    return out


def shadow_reports(metrics):
    return [v for k, v in metrics.items() if k.startswith(f"{STEP}.shadow[")]


def test_shadow_regression_only_on_its_topic_with_mae_rmse(kafka, topic_factory):
    src, out, shadow = topic_factory(partitions=2), topic_factory(), topic_factory(prefix="sh")
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    m1, m2 = trained(50, 3), trained(120, 4, seed=1)
    reg.push(m1, name="hp", alias="champion", signature=FEATURES)
    reg.push(m2, name="hp", alias="challenger", signature=FEATURES)
    stream = houses(3000, seed=11)
    produce(kafka, src, records(stream), keys=[str(i).encode() for i in stream["id"]])
    name = f"shadow-{src}"
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict(
            "hp",
            output="price",
            shadow="challenger",
            shadow_topic=shadow,
            topic=control,
            artifact_topic=arts,
        )
        | sl.write.to_kafka(out, partitions=1)
    )
    stats = sl.run(pipeline, kafka=kafka, name=name, max_records=len(stream))
    assert stats.records_out == len(stream) and stats.dead_lettered == 0
    main = by_id(consume_all(kafka, out, expected=len(stream)))
    side = by_id(consume_all(kafka, shadow, expected=len(stream)))
    assert set(main) == set(side) and len(main) == len(stream)
    X = stream.select(FEATURES).to_numpy()
    want1, want2 = m1.predict(X), m2.predict(X)
    for rid, (row, heads) in main.items():  # the champion only, never the shadow
        assert row["model_version"] == 1 and ("sl-model-version", b"hp:1") in heads
        assert row["price"] == pytest.approx(want1[row["id"]], rel=1e-4, abs=1e-3)
        srow, sheads = side[rid]
        assert srow["model_version"] == 2 and ("sl-model-version", b"hp:2") in sheads
        assert srow["price"] == pytest.approx(want2[row["id"]], rel=1e-4, abs=1e-3)
        assert {k: v for k, v in srow.items() if k not in ("price", "model_version")} == {
            k: v for k, v in row.items() if k not in ("price", "model_version")
        }
    # the metrics: from both topics (float32 values as written) and offline (sklearn)
    diffs = np.array([side[r][0]["price"] - main[r][0]["price"] for r in main])
    reports = shadow_reports(stats.metrics)
    assert len(reports) == 2  # one per partition
    assert all(r["main_version"] == 1 and r["shadow_version"] == 2 for r in reports)
    got = fold(reports)
    assert got["n"] == len(stream) and got["task"] == "regression"
    assert got["mae"] == pytest.approx(np.abs(diffs).mean(), rel=1e-6)
    assert got["rmse"] == pytest.approx(math.sqrt((diffs**2).mean()), rel=1e-6)
    assert got["mean_diff"] == pytest.approx(diffs.mean(), rel=1e-5, abs=1e-6)
    assert got["max_abs_diff"] == pytest.approx(np.abs(diffs).max(), rel=1e-6)
    offline = want2 - want1
    assert got["mae"] == pytest.approx(np.abs(offline).mean(), rel=1e-4)
    assert got["rmse"] == pytest.approx(math.sqrt((offline**2).mean()), rel=1e-4)
    # and on the metrics feed, as step reports
    feed = [orjson.loads(m.value()) for m in consume_all(kafka, f"{name}.metrics")]
    published = {
        r["partition"]: r["figures"]
        for r in feed
        if r.get("kind") == "step" and r["step"] == f"{STEP}.shadow"
    }
    assert sum(f["n"] for f in published.values()) == len(stream)


def classifier_rows(n, seed):
    df = houses(n, seed=seed)
    expensive = (df["price"] > 330).cast(int)
    rows = [
        orjson.dumps({**r, "expensive": int(y)})
        for r, y in zip(df.select(["id", *FEATURES]).iter_rows(named=True), expensive, strict=True)
    ]
    return df, expensive.to_numpy(), rows


def test_shadow_classification_agreement_confusion_and_label_metrics(kafka, topic_factory):
    src, out, shadow = topic_factory(partitions=2), topic_factory(), topic_factory(prefix="sh")
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    train, y_train, _ = classifier_rows(3000, seed=123)
    X_train = train.select(FEATURES).to_numpy()
    c1 = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    c2 = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X_train, y_train)
    reg.push(c1, name="exp", alias="champion", signature=FEATURES)
    reg.push(c2, name="exp", alias="challenger", signature=FEATURES)
    stream, y, rows = classifier_rows(2000, seed=5)
    produce(kafka, src, rows, keys=[str(i).encode() for i in stream["id"]])
    pipeline = build(src, out, shadow, control, arts, max_batch=20_000)
    stats = sl.run(pipeline, kafka=kafka, name=f"shadowc-{src}", max_records=len(stream))
    assert stats.records_out == len(stream)
    main = by_id(consume_all(kafka, out, expected=len(stream)))
    side = by_id(consume_all(kafka, shadow, expected=len(stream)))
    a = np.array([main[r][0]["prediction"] for r in main])
    b = np.array([side[r][0]["prediction"] for r in main])
    truth = np.array([main[r][0]["expensive"] for r in main])
    assert (truth == y[[main[r][0]["id"] for r in main]]).all()  # the label came through
    assert 0 < (a != b).sum() < len(a)  # the models disagree on some houses, not all
    X = stream.select(FEATURES).to_numpy()
    assert (a == c1.predict(X[[main[r][0]["id"] for r in main]])).mean() > 0.99  # float32 ties
    got = fold(shadow_reports(stats.metrics))
    assert got["task"] == "classification" and got["n"] == len(stream)
    assert got["agreed"] == int((a == b).sum())
    assert got["agreement"] == pytest.approx((a == b).mean())
    want = {
        str(i): {
            str(j): int(((a == i) & (b == j)).sum()) for j in (0, 1) if ((a == i) & (b == j)).any()
        }
        for i in (0, 1)
    }
    assert got["confusion"] == {k: v for k, v in want.items() if v}
    # label metrics: the champion's and the shadow's accuracy against the label column
    for variant, pred in (("champion", a), ("challenger", b)):
        parts = [v for k, v in stats.metrics.items() if k.startswith(f"{STEP}.labels.{variant}[")]
        assert sum(p["n"] for p in parts) == len(stream)
        correct = sum(p["accuracy"] * p["n"] for p in parts)
        assert correct == pytest.approx((pred == truth).sum())


def test_a_shadow_without_a_version_leaves_the_main_output_alone(kafka, topic_factory):
    src, out, shadow = topic_factory(), topic_factory(), topic_factory(prefix="sh")
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    reg.push(
        linear_onnx([1, 0, 0, 0]), name="hp", format="onnx", alias="champion", signature=FEATURES
    )
    stream = houses(300, seed=2)
    produce(kafka, src, records(stream))
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict(
            "hp", shadow="challenger", shadow_topic=shadow, topic=control, artifact_topic=arts
        )
        | sl.write.to_kafka(out)
    )
    stats = sl.run(pipeline, kafka=kafka, name=f"shadow0-{src}", max_records=len(stream))
    assert stats.records_out == len(stream) and stats.dead_lettered == 0
    assert stats.metrics[f"{STEP}.shadow.unscored"] == len(stream)
    assert consume_all(kafka, shadow, idle=1.0) == []
    rows = [orjson.loads(m.value()) for m in consume_all(kafka, out, expected=len(stream))]
    assert [r["prediction"] for r in rows] == pytest.approx(stream["rooms"].to_list())
