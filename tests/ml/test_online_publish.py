"""online_classifier(..., publish=, every=): the learner goes to the registry every
``every`` learned labels, in the "streamlearn" format, and scores like the live model."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import SGDClassifier

import streamlearn as sl
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context
from streamlearn.ml.publish import published_artifact, published_table
from streamlearn.serve.loader import load_scorer


def data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    ids = [f"e{i}" for i in range(n)]
    events = pl.DataFrame({"event_id": ids, "u": x[:, 0], "v": x[:, 1]})
    labels = pl.DataFrame({"event_id": ids, "y": np.where(x[:, 0] > x[:, 1], "up", "down")})
    return events, labels


@pytest.mark.parametrize("model", [sl.ml.PassiveAggressive(), SGDClassifier(random_state=0)])
def test_online_classifier_publishes_on_the_cadence(model):
    op = sl.ml.online_classifier(
        ["u", "v"], model=model, feedback=sl.read.from_kafka("labels"), publish="fraud", every=300
    )
    events, labels = data()
    ctx = Context()
    sl.Pipeline.of(op).apply(events, side={"feedback": labels}, batch_size=100, ctx=ctx)
    table = published_table(ctx, op.publish)
    versions = table.versions["fraud"]
    assert sorted(versions) == [1, 2, 3]
    assert [versions[v].metadata["learned"] for v in (1, 2, 3)] == [300, 600, 900]
    assert table.alias("fraud", "champion").version == 3
    rec = versions[3]
    assert rec.format == ("streamlearn" if isinstance(model, sl.ml.PassiveAggressive) else "onnx")
    scorer = load_scorer(rec.format, published_artifact(ctx, op.publish, "fraud", 3), rec.signature)
    test, _ = data(200, seed=1)
    pred = scorer.predict(test.select("u", "v").to_numpy().astype(np.float32))[0]
    x = test.select("u", "v").to_numpy()
    assert (np.asarray(pred) == np.where(x[:, 0] > x[:, 1], "up", "down")).mean() > 0.9


def test_publish_needs_one_model_with_a_format():
    from river import linear_model, tree

    fb = sl.read.from_kafka("labels")
    with pytest.raises(ConfigError, match="no key_by"):
        sl.ml.online_classifier(
            ["u"], model=sl.ml.PassiveAggressive(), feedback=fb, key_by="k", publish="m", every=10
        )
    with pytest.raises(ConfigError, match="pickle-free format"):
        sl.ml.online_classifier(
            ["u"], model=tree.HoeffdingTreeClassifier(), feedback=fb, publish="m", every=10
        )
    # an allow-listed River model has one (formats/river.py JSON)
    sl.ml.online_classifier(
        ["u"], model=linear_model.PAClassifier(), feedback=fb, publish="m", every=10
    )


def test_a_river_model_publishes_in_the_river_format():
    from river import linear_model, preprocessing

    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    op = sl.ml.online_classifier(
        ["u", "v"], model=model, feedback=sl.read.from_kafka("labels"), publish="fraud", every=300
    )
    events, labels = data()
    labels = labels.with_columns(pl.col("y") == "up")  # River's binary models learn booleans
    ctx = Context()
    sl.Pipeline.of(op).apply(events, side={"feedback": labels}, batch_size=100, ctx=ctx)
    rec = published_table(ctx, op.publish).versions["fraud"][3]
    assert rec.format == "river" and rec.signature.names == ("u", "v")
    scorer = load_scorer(rec.format, published_artifact(ctx, op.publish, "fraud", 3), rec.signature)
    test, _ = data(200, seed=1)
    x = test.select("u", "v").to_numpy()
    pred = scorer.predict(x.astype(np.float32))[0]
    assert (np.asarray(pred) == (x[:, 0] > x[:, 1])).mean() > 0.9
