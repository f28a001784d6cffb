"""sl.ml.train(..., publish=, every=) over a DataFrame: the versions it hands to the
runtime (ctx.outputs) are on the cadence, load in the serving scorers and score like
the trained model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import streamlearn as sl
from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context
from streamlearn.ml.publish import published_artifact, published_table
from streamlearn.serve.loader import load_scorer
from tests.ml.minibatch.models import FEATURES, frame, keras_net, torch_net


def run(op, df, cuts=(300, 700)):
    step, ctx = op.build(), Context()
    bounds = [0, *cuts, df.height]
    for lo, hi in itertools.pairwise(bounds):
        step.process(Batch.from_frame(df.slice(lo, hi - lo), first_offset=lo), ctx)
    return step, ctx


def scorer(op, ctx, version):
    rec = published_table(ctx, op.publish).get(op.publish.name, version)
    data = published_artifact(ctx, op.publish, op.publish.name, version)
    return rec, load_scorer(rec.format, data, rec.signature)


def test_torch_classifier_versions_on_the_cadence():
    net = torch_net()
    op = sl.ml.train(
        net,
        FEATURES,
        "y",
        batch_size=50,
        publish="clf",
        every=200,
        optimizer=torch.optim.Adam(net.parameters(), lr=0.01),
    )
    df = frame(1000)
    step, ctx = run(op, df)
    table = published_table(ctx, op.publish)
    versions = table.versions["clf"]
    assert sorted(versions) == [1, 2, 3, 4, 5]
    assert [versions[v].metadata["learned"] for v in sorted(versions)] == [200, 400, 600, 800, 1000]
    assert table.alias("clf", "champion").version == 5
    assert table.alias("clf", "champion").history == (1, 2, 3, 4)
    rec, sc = scorer(op, ctx, 5)
    assert rec.format == "onnx" and rec.signature.names == tuple(FEATURES)
    assert rec.signature.outputs == ("label", "probabilities")
    X = frame(300, seed=5).select(FEATURES).to_numpy().astype(np.float32)
    label, proba = sc.predict(X)
    module = step.adapter.module.eval()
    with torch.no_grad():
        logits = module(torch.from_numpy(X))
    np.testing.assert_array_equal(label, logits.argmax(1).numpy())
    np.testing.assert_allclose(proba, torch.softmax(logits, 1).numpy(), atol=1e-6)
    assert step.report()["versions_published"] == 5


def test_torch_regressor_exports_its_output():
    net = torch_net(out=1, dropout=0.0)
    op = sl.ml.train(net, FEATURES, "t", batch_size=100, publish="reg", every=1000, alias=None)
    step, ctx = run(op, frame(1000))
    rec, sc = scorer(op, ctx, 1)
    assert rec.signature.outputs == ("output",)
    assert published_table(ctx, op.publish).alias("reg", "champion") is None
    X = frame(50, seed=2).select(FEATURES).to_numpy().astype(np.float32)
    with torch.no_grad():
        want = step.adapter.module(torch.from_numpy(X))[:, 0].numpy()
    np.testing.assert_allclose(sc.predict(X)[0], want, atol=1e-6)


def test_keras_classifier_is_published_as_onnx():
    op = sl.ml.train(keras_net(), FEATURES, "y", batch_size=100, publish="k", every=500)
    step, ctx = run(op, frame(1000))
    _rec, sc = scorer(op, ctx, 2)
    X = frame(50, seed=2).select(FEATURES).to_numpy().astype(np.float32)
    want = np.asarray(step.adapter.model.predict(X, verbose=0))
    label, proba = sc.predict(X)
    np.testing.assert_allclose(proba, want, atol=1e-5)
    np.testing.assert_array_equal(label, want.argmax(1))


def test_partial_fit_estimator_goes_as_onnx_and_a_learner_in_its_own_format():
    from sklearn.linear_model import SGDClassifier

    est = sl.ml.SklearnPartialFit(SGDClassifier(random_state=0), classes=[0, 1])
    op = sl.ml.train(est, FEATURES, "y", batch_size=100, publish="sgd", every=1000)
    step, ctx = run(op, frame(1000))
    rec, sc = scorer(op, ctx, 1)
    X = frame(100, seed=3).select(FEATURES).to_numpy()
    assert rec.format == "onnx"
    np.testing.assert_array_equal(
        sc.predict(X.astype(np.float32))[0], step.adapter.learner.predict_batch(X)
    )

    op = sl.ml.train(
        sl.ml.PassiveAggressive(), FEATURES, "y", batch_size=100, publish="pa", every=500
    )
    step, ctx = run(op, frame(1000))
    rec, sc = scorer(op, ctx, 2)
    assert rec.format == "streamlearn"
    np.testing.assert_array_equal(
        sc.predict(X.astype(np.float32))[0], step.adapter.learner.predict_batch(X)
    )


def test_versions_continue_after_what_the_control_topic_holds():
    op = sl.ml.train(
        sl.ml.PassiveAggressive(), FEATURES, "y", batch_size=100, publish="pa", every=500
    )
    _first, ctx = run(op, frame(1000))
    step = op.build()
    records = [b.data for b in ctx.outputs[op.publish.topic]]
    for data in records:  # what the broadcast side input hands over
        step.process_side("control", Batch.from_frame(data), Context())
    again = Context()
    step.process(Batch.from_frame(frame(500)), again)
    assert sorted(published_table(again, op.publish).versions["pa"]) == [3]


def test_a_second_partition_cannot_publish_under_the_same_name():
    op = sl.ml.train(
        sl.ml.PassiveAggressive(), FEATURES, "y", batch_size=100, publish="pa", every=100
    )
    df = frame(100)
    op.build().process(Batch.from_frame(df, topic="t", partition=0), Context())
    with pytest.raises(ConfigError, match="needs an input of one partition"):
        op.build().process(Batch.from_frame(df, topic="t", partition=1), Context())
