"""sl.ml.train on DataFrames: mini-batches independent of the micro-batch cuts, and a
snapshot/restore anywhere in the stream gives the model an uninterrupted run has."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest
import torch

import streamlearn as sl
from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError, StateError
from streamlearn.core.operator import Context
from tests.ml.minibatch.models import FEATURES, frame, keras_net, torch_net


def feed(op, df, cuts, *, crash_after=None):
    """Feed ``df`` cut at ``cuts``; after the batch number ``crash_after``, snapshot,
    throw the step away and restore a new one from the snapshot (a crash and restart)."""
    step, ctx = op.build(), Context()
    bounds = [0, *cuts, df.height]
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        out = step.process(Batch.from_frame(df.slice(lo, hi - lo), first_offset=lo), ctx)
        assert out is not None and out.data.equals(df.slice(lo, hi - lo))  # passed through
        if i == crash_after:
            blob = step.snapshot()
            step = op.build()
            step.restore(blob)
    return step, ctx


def weights(step):
    _values, arrays = step.adapter.state()
    return {k: v for k, v in arrays.items()}


def same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def make(kind, **kw):
    if kind == "torch":
        net = torch_net()
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        return sl.ml.train(net, FEATURES, "y", optimizer=opt, **kw)
    if kind == "keras":
        return sl.ml.train(keras_net(), FEATURES, "y", **kw)
    from sklearn.linear_model import SGDClassifier

    est = sl.ml.SklearnPartialFit(SGDClassifier(random_state=0), classes=[0, 1])
    return sl.ml.train(est, FEATURES, "y", **kw)


@pytest.mark.parametrize("kind", ["torch", "keras", "sklearn"])
@pytest.mark.parametrize("checkpoint_every", [1, 3])
def test_crash_anywhere_gives_the_uninterrupted_model(kind, checkpoint_every):
    df = frame(1000)
    op = make(kind, batch_size=64, checkpoint_every=checkpoint_every)
    whole, _ = feed(op, df, [])
    assert whole.report()["batches"] == 1000 // 64
    assert whole.buffered == 1000 % 64
    expected = weights(whole)
    cuts = [37, 200, 201, 450, 700, 999]
    for crash_after in range(len(cuts)):
        step, _ = feed(op, df, cuts, crash_after=crash_after)
        same(weights(step), expected)
        assert step.report()["batches"] == whole.report()["batches"]
        assert step.report()["trained"] == 15 * 64


def test_the_model_learns_and_the_template_is_untouched():
    net = torch_net(dropout=0.0)
    before = [p.detach().clone() for p in net.parameters()]
    op = sl.ml.train(
        net, FEATURES, "y", batch_size=32, optimizer=torch.optim.Adam(net.parameters(), lr=0.02)
    )
    step, _ = feed(op, frame(4000), [1000, 2000, 3000])
    for p, q in zip(net.parameters(), before, strict=True):
        assert torch.equal(p, q)
    test = frame(2000, seed=1)
    x = torch.tensor(test.select(FEATURES).to_numpy(), dtype=torch.float32)
    step.adapter.module.eval()
    acc = (step.adapter.module(x).argmax(1).numpy() == test["y"].to_numpy()).mean()
    assert acc > 0.9
    assert step.report()["loss"] < 0.4


def test_checkpoint_every_keeps_the_rows_to_train_again():
    df = frame(640)
    op = make("torch", batch_size=64, checkpoint_every=4)
    step, _ = feed(op, df, [])
    first = step.snapshot()  # 10 batches since nothing: weights encoded
    assert step.replay == 0
    step.process(Batch.from_frame(frame(200, seed=3)), Context())  # 3 more batches, 8 rows
    from streamlearn.core.state import decode_state

    values, arrays = decode_state(step.snapshot())
    assert values["replay"] == 3 * 64 and arrays["rows.X"].shape[0] == 3 * 64 + 8
    assert len(first) > 0


def test_skipped_rows_and_bad_batches():
    df = frame(10).with_columns(
        pl.when(pl.int_range(10) == 3).then(None).otherwise(pl.col("y")).alias("y"),
        pl.when(pl.int_range(10) == 5).then(float("nan")).otherwise(pl.col("a")).alias("a"),
    )
    op = make("torch", batch_size=4)
    step, ctx = feed(op, df, [])
    assert step.report()["skipped"] == 2 and step.report()["batches"] == 2
    out = step.process(Batch.from_frame(df.drop("b")), ctx)
    assert out is None and "lacks column(s) ['b']" in ctx.dead_letters[-1].reasons[0]
    text = df.with_columns(pl.col("y").cast(pl.String))
    assert step.process(Batch.from_frame(text), ctx) is None
    assert "not numeric" in ctx.dead_letters[-1].reasons[0]


def test_text_labels_for_a_partial_fit_classifier():
    from sklearn.naive_bayes import GaussianNB

    df = frame(300).with_columns(pl.col("y").replace_strict({0: "no", 1: "yes"}))
    est = sl.ml.SklearnPartialFit(GaussianNB(), classes=["no", "yes"])
    op = sl.ml.train(est, FEATURES, "y", batch_size=50)
    step, _ = feed(op, df, [120], crash_after=0)
    assert step.adapter.learner.predict_batch(np.array([[3.0, -3.0, 0.0]])).tolist() == ["yes"]


def test_configuration_errors():
    net = torch_net()
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1"):
        sl.ml.train(net, FEATURES, "y", batch_size=0)
    with pytest.raises(ConfigError, match="cannot be both a feature and the label"):
        sl.ml.train(net, FEATURES, "a")
    with pytest.raises(ConfigError, match="cannot train a str"):
        sl.ml.train("model", FEATURES, "y")
    with pytest.raises(ConfigError, match="needs publish="):
        sl.ml.train(net, FEATURES, "y", every=10)
    with pytest.raises(ConfigError, match="needs every="):
        sl.ml.train(net, FEATURES, "y", publish="m")
    import keras

    with pytest.raises(ConfigError, match="compiled Keras model"):
        sl.ml.train(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), FEATURES, "y")
    from sklearn.linear_model import SGDRegressor

    with pytest.raises(ConfigError, match="optimizer= and loss= are for torch"):
        sl.ml.train(SGDRegressor(), FEATURES, "t", loss=torch.nn.MSELoss())


def test_a_snapshot_of_another_setup_is_refused():
    step, _ = feed(make("torch", batch_size=64), frame(200), [])
    other = make("torch", batch_size=32).build()
    with pytest.raises(StateError, match="batch_size=64"):
        other.restore(step.snapshot())


def test_rows_are_not_kept_once_the_weights_will_be_encoded():
    df = frame(1000)
    step, _ = feed(make("sklearn", batch_size=64, checkpoint_every=1), df, [500])
    assert step.X.shape[0] == step.buffered == 1000 % 64
    step, _ = feed(make("sklearn", batch_size=64, checkpoint_every=100), df, [500])
    assert step.X.shape[0] == 1000 and step.replay == 15 * 64
