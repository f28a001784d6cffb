"""The online-learning operator on in-memory batches: predict now, learn from late labels."""

from __future__ import annotations

import logging

import numpy as np
import orjson
import polars as pl
import pytest
from river import linear_model as river_linear
from river import multiclass as river_multiclass
from sklearn.linear_model import SGDClassifier

import streamlearn as sl
from streamlearn.core.batch import Batch, Origin
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context
from streamlearn.ml.learners import (
    LogisticRegressionSGD,
    PassiveAggressive,
    PassiveAggressiveRegressor,
)

FEEDBACK = sl.read.from_kafka("labels")


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


class Spec:
    """An online_classifier whose ``build()`` gives a step named as in a pipeline."""

    def __init__(self, model=None, **kwargs) -> None:
        self.op = sl.ml.online_classifier(
            ["x0", "x1"], model=model or PassiveAggressive(), feedback=FEEDBACK, name="ol", **kwargs
        )

    @classmethod
    def wrap(cls, operator):
        spec = cls.__new__(cls)
        spec.op = operator
        return spec

    def build(self):
        chain = sl.Pipeline.of(self.op).build()
        step = chain.steps[0]
        step.test_chain = chain  # labels go through the chain's side input, as at run time
        return step


op = Spec


def events(X, ids, **extra) -> Batch:
    df = pl.DataFrame({"event_id": ids, "x0": X[:, 0], "x1": X[:, 1], **extra})
    return Batch.from_frame(df, topic="events")


def labels(pairs, raw: list[bytes] | None = None) -> Batch:
    values = raw if raw is not None else [orjson.dumps({"event_id": i, "y": y}) for i, y in pairs]
    n = len(values)
    return Batch(
        pl.DataFrame(height=n),
        Origin("labels", 0, np.arange(n), values=values),
        np.arange(n, dtype=np.int64),
    )


def blobs(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 2)) + np.where(y[:, None] == 1, 3.0, -3.0)
    return X, y


def run(step, batch, ctx):
    """Events into the step; label records through the feedback decoders first."""
    if batch.origin is not None and batch.origin.topic == "labels":
        return step.test_chain.push_side("labels", batch, ctx)
    return step.process(batch, ctx)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def ctx(clock):
    return Context(wall_clock=clock)


def test_predict_now_learn_later(ctx):
    step = op().build()
    X, y = blobs(200)
    ids = [f"e{i}" for i in range(200)]
    first = run(step, events(X[:100], ids[:100]), ctx)
    assert first.data["prediction"].null_count() == 100  # nothing learned yet
    assert run(step, labels(zip(ids[:100], y[:100].tolist(), strict=True)), ctx) is None
    report = step.report()
    assert report["learned"] == 100 and report["pending_events"] == 0
    second = run(step, events(X[100:], ids[100:]), ctx)
    assert (second.data["prediction"].to_numpy() == y[100:]).mean() > 0.95
    assert set(second.data.columns) >= {"prediction", "score", "model_updates"}
    assert second.data["model_updates"].unique().to_list() == [report["model_updates"]]


def test_matches_the_learner_run_offline(ctx):
    """The operator predicts exactly what the bare learner predicts after learning the
    same labels in the same order."""
    X, y = blobs(300, seed=3)
    ids = [f"e{i}" for i in range(300)]
    step = op(PassiveAggressive(C=0.5)).build()
    run(step, events(X[:200], ids[:200]), ctx)
    order = np.random.default_rng(1).permutation(200)
    for chunk in np.array_split(order, 7):
        run(step, labels([(ids[i], int(y[i])) for i in chunk]), ctx)
    got = run(step, events(X[200:], ids[200:]), ctx).data["prediction"].to_numpy()
    reference = PassiveAggressive(C=0.5).learn_batch(X[order], y[order])
    np.testing.assert_array_equal(got, reference.predict_batch(X[200:]))


def test_early_labels_wait_for_their_event(ctx):
    step = op().build()
    X, y = blobs(50)
    ids = [f"e{i}" for i in range(50)]
    run(step, labels(zip(ids, y.tolist(), strict=True)), ctx)
    assert step.report()["waiting_labels"] == 50
    run(step, events(X, ids), ctx)
    report = step.report()
    assert report["learned"] == 50 and report["waiting_labels"] == 0
    assert report["pending_events"] == 0


def test_duplicate_labels_are_learned_once(ctx):
    step = op().build()
    X, y = blobs(20)
    ids = [f"e{i}" for i in range(20)]
    run(step, events(X, ids), ctx)
    pairs = list(zip(ids, y.tolist(), strict=True))
    run(step, labels(pairs + pairs[:3]), ctx)  # twice in one batch
    run(step, labels(pairs[:5]), ctx)  # and again later
    report = step.report()
    assert report["learned"] == 20
    assert report["duplicate_labels"] == 8
    assert report["waiting_labels"] == 0
    assert step.models[None].n_seen_ == 20


def test_unknown_ids_and_unlabelled_events_expire(ctx, clock):
    step = op(ttl=60).build()
    X, _ = blobs(10)
    run(step, events(X, [f"e{i}" for i in range(10)]), ctx)
    run(step, labels([("nobody", 1), ("ghost", 0)]), ctx)
    clock.t += 30
    step.on_timer(ctx)
    assert step.report()["pending_events"] == 10
    clock.t += 31
    step.on_timer(ctx)
    report = step.report()
    assert report["expired_events"] == 10 and report["expired_labels"] == 2
    assert report["pending_events"] == report["waiting_labels"] == 0


def test_memory_stays_bounded(ctx):
    """Events never labelled and labels for unknown ids cannot grow the state past
    max_pending, however long the stream."""
    step = op(max_pending=500).build()
    rng = np.random.default_rng(0)
    for b in range(40):
        ids = [f"b{b}-{i}" for i in range(1000)]
        run(step, events(rng.normal(size=(1000, 2)), ids), ctx)
        run(step, labels([(f"unknown{b}-{i}", 1) for i in range(1000)]), ctx)
        assert step.events_.height <= 500 and step.labels_.height <= 500
    report = step.report()
    assert report["dropped_events"] == 40_000 - 500
    assert report["dropped_labels"] == 40_000 - 500
    assert len(step.snapshot()) < 200_000


def test_bad_labels_go_to_the_dead_letters(ctx):
    step = op().build()
    X, _ = blobs(3)
    run(step, events(X, ["a", "b", "c"]), ctx)
    raw = [
        b'{"event_id": "a", "y": 1}',
        b"not json",
        b'{"event_id": "b"}',
        b'{"y": 0}',
        b'{"event_id": "c", "y": 0}',
        b"",
    ]
    run(step, labels([], raw=raw), ctx)
    report = step.report()
    # not JSON / empty: dead-lettered by the feedback decoder; no id or no label: by the step
    assert report["learned"] == 2 and report["bad_labels"] == 2
    dead = ctx.dead_letters
    assert sum(d.batch.height for d in dead) == 4
    assert {d.operator for d in dead} == {"ol", "ol.feedback/0-decode.json"}
    offsets = sorted(o for d in dead for o in d.batch.offsets().tolist())
    assert offsets == [1, 2, 3, 5]


def test_events_without_the_columns_are_dead_lettered(ctx):
    step = op().build()
    batch = Batch.from_frame(pl.DataFrame({"event_id": ["a"], "x0": [1.0]}), topic="events")
    assert run(step, batch, ctx) is None
    assert "x1" in ctx.dead_letters[0].reasons[0]


def test_snapshot_restores_models_pending_events_and_metrics(ctx):
    spec = op(LogisticRegressionSGD(seed=0))
    step = spec.build()
    X, y = blobs(400, seed=2)
    ids = [f"e{i}" for i in range(400)]
    run(step, events(X[:150], ids[:150]), ctx)
    run(step, labels(zip(ids[:150], y[:150].tolist(), strict=True)), ctx)
    run(step, events(X[150:300], ids[150:300]), ctx)
    run(step, labels(zip(ids[150:250], y[150:250].tolist(), strict=True)), ctx)
    run(step, labels([("early", 1)]), ctx)
    restored = spec.build()
    restored.restore(step.snapshot())
    assert restored.report() == step.report()
    assert restored.report()["log_loss"] is not None
    a = run(step, events(X[300:], ids[300:]), ctx).data
    b = run(restored, events(X[300:], ids[300:]), ctx).data
    assert a.equals(b)
    rest = list(zip(ids[250:300], y[250:300].tolist(), strict=True))
    run(step, labels(rest), ctx)
    run(restored, labels(rest), ctx)
    assert restored.report() == step.report()


def test_one_model_per_key(ctx):
    """Two keys whose labels are opposite functions of x: one shared model cannot learn
    both, one model per key learns each."""
    X, y = blobs(400, seed=4)
    key = np.array(["up", "down"] * 200)
    y_key = np.where(key == "up", y, 1 - y)
    ids = [f"e{i}" for i in range(400)]
    step = op(key_by="shop").build()
    run(step, events(X[:300], ids[:300], shop=key[:300]), ctx)
    run(step, labels(zip(ids[:300], y_key[:300].tolist(), strict=True)), ctx)
    out = run(step, events(X[300:], ids[300:], shop=key[300:]), ctx).data
    assert step.report()["models"] == 2
    assert (out["prediction"].to_numpy() == y_key[300:]).mean() > 0.95
    restored = op(key_by="shop").build()
    restored.restore(step.snapshot())
    assert sorted(restored.models) == ["down", "up"]


def test_regression_reports_mae_rmse_r2(ctx):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2))
    target = X @ np.array([2.0, -1.0]) + 0.5
    spec = sl.ml.online_regressor(
        ["x0", "x1"],
        model=PassiveAggressiveRegressor(epsilon=0.0),
        feedback=FEEDBACK,
        label="price",
        name="ol",
    )
    step = Spec.wrap(spec).build()
    ids = [f"e{i}" for i in range(500)]
    for s in range(0, 500, 50):
        run(step, events(X[s : s + 50], ids[s : s + 50]), ctx)
        raw = [
            orjson.dumps({"event_id": i, "price": float(t)})
            for i, t in zip(ids[s : s + 50], target[s : s + 50], strict=True)
        ]
        run(step, labels([], raw=raw), ctx)
    report = step.report()
    assert report["learned"] == 500 and report["n"] == 450
    assert report["window"]["r2"] > 0.99 and report["window"]["mae"] < 0.1


def test_any_sklearn_or_river_model_plugs_in(ctx, caplog):
    X, y = blobs(200)
    ids = [f"e{i}" for i in range(200)]
    for model in (SGDClassifier(random_state=0), river_linear.PAClassifier()):
        step = op(model).build()
        run(step, events(X[:100], ids[:100]), ctx)
        run(step, labels(zip(ids[:100], y[:100].tolist(), strict=True)), ctx)
        out = run(step, events(X[100:], ids[100:]), ctx).data
        assert (out["prediction"].to_numpy() == y[100:]).mean() > 0.9
    # an allow-listed River model is snapshotted with the step (formats/river.py JSON)
    restored = op(river_linear.PAClassifier()).build()
    restored.restore(step.snapshot())
    assert restored.report() == step.report()
    again = events(X, [f"again{i}" for i in range(200)])
    assert run(restored, again, ctx).data.equals(run(step, again, ctx).data)
    step = op(river_multiclass.OneVsRestClassifier(river_linear.PAClassifier())).build()
    run(step, events(X[:100], ids[:100]), ctx)
    run(step, labels(zip(ids[:100], y[:100].tolist(), strict=True)), ctx)
    with caplog.at_level(logging.WARNING, logger="streamlearn.ml"):
        step.snapshot()  # a River model without a pickle-free form: warned, not crashed
    assert "cannot be snapshotted" in caplog.text


def test_the_report_goes_to_the_run_metrics_and_no_topic_of_its_own(ctx, clock):
    step = op().build()
    X, y = blobs(10)
    ids = [f"e{i}" for i in range(10)]
    run(step, events(X, ids), ctx)
    run(step, labels(zip(ids, y.tolist(), strict=True)), ctx)
    report = ctx.metrics["ol[0]"]  # what the runtime publishes to <name>.metrics
    assert report["learned"] == 10 and report["pending_events"] == 0
    run(step, events(X[:3], ["late0", "late1", "late2"]), ctx)
    clock.t += 7200  # past the ttl: the timer expires them, and the report says so
    step.on_timer(ctx)
    assert ctx.metrics["ol[0]"]["expired_events"] == 3
    assert not ctx.outputs and op().op.outputs() == ()  # the step writes to no topic


def test_metrics_topic_is_deprecated_and_has_no_effect():
    with pytest.warns(DeprecationWarning, match="metrics feed"):
        spec = op(metrics_topic="m", metrics_every=0.5)
    assert spec.op.outputs() == ()


def test_configuration_errors_are_clear():
    with pytest.raises(ConfigError, match="regressor"):
        sl.ml.online_classifier(["x"], model=PassiveAggressiveRegressor(), feedback=FEEDBACK)
    with pytest.raises(ConfigError, match="not a learner"):
        sl.ml.online_classifier(["x"], model=object(), feedback=FEEDBACK)
    with pytest.raises(ConfigError, match="feature"):
        sl.ml.online_classifier(["event_id"], model=PassiveAggressive(), feedback=FEEDBACK)
    with pytest.raises(ConfigError, match="max_pending"):
        sl.ml.online_classifier(["x"], model=PassiveAggressive(), feedback=FEEDBACK, max_pending=0)


def test_seen_agrees_with_is_in_whichever_side_is_hashed():
    from streamlearn.join import RecentKeys

    rng = np.random.default_rng(5)
    learned = pl.Series([f"e{i}" for i in rng.permutation(5000)])
    for n in (0, 1, 30, 1200, 4000):  # below and above the switch at len(learned) / 4
        ids = pl.Series([f"e{i}" for i in rng.integers(0, 10_000, n)], dtype=pl.String)
        recent = RecentKeys()
        recent.remember(learned)
        assert recent.seen(ids).to_list() == ids.is_in(learned.implode()).to_list()


CLASSIFIERS = [
    m
    for m in __import__("tests.ml.test_learners", fromlist=["LEARNERS"]).LEARNERS
    if m.tags().role == "classifier"
]


@pytest.mark.parametrize("model", CLASSIFIERS, ids=repr)
@pytest.mark.parametrize(
    "names", [("class_0", "class_1"), (False, True), (3, 7)], ids=["str", "bool", "int"]
)
def test_every_classifier_takes_any_label_type_online(ctx, model, names):
    """Issue 8 item 3: string labels crashed learners with probabilities ("labels mix
    numbers and strings") at the first label scored after the first update."""
    X, y = blobs(200)
    ids = [f"e{i}" for i in range(200)]
    named = [names[int(v)] for v in y]
    step = op(model).build()
    for s in range(0, 200, 50):
        run(step, events(X[s : s + 50], ids[s : s + 50]), ctx)
        run(step, labels(zip(ids[s : s + 50], named[s : s + 50], strict=True)), ctx)
    report = step.report()
    assert report["learned"] == 200 and report["n"] == 150
    out = run(step, events(X, [f"again{i}" for i in range(200)]), ctx).data
    assert (out["prediction"].to_list() == np.asarray(named, dtype=object)).mean() > 0.9


def test_feedback_decoded_by_the_users_decoder(ctx):
    """Issue 9: labels are decoded by the feedback pipeline's decoder (here string labels
    by schema), then handed to the step through process_side."""
    feedback = sl.read.from_kafka("labels") | sl.decode.json({"event_id": "string", "y": "string"})
    spec = Spec.wrap(
        sl.ml.online_classifier(
            ["x0", "x1"], model=PassiveAggressive(), feedback=feedback, name="ol"
        )
    )
    (side,) = spec.op.inputs()
    assert side.port == "feedback" and side.pipeline is feedback
    step = spec.build()
    X, y = blobs(20)
    ids = [f"e{i}" for i in range(20)]
    run(step, events(X, ids), ctx)
    run(step, labels(zip(ids, [f"c{v}" for v in y.tolist()], strict=True)), ctx)
    assert step.report()["learned"] == 20
    assert step.models[None].classes_.dtype.kind == "U"


def test_a_bare_source_gets_the_default_json_decoder():
    (side,) = op().op.inputs()
    assert [o.kind for o in side.pipeline.operators] == ["decode.json"]


def test_offline_apply_with_label_frames():
    """Pipeline.apply feeds side inputs after the events (labels come later)."""
    X, y = blobs(200)
    ids = [f"e{i}" for i in range(200)]
    ev = pl.DataFrame({"event_id": ids, "x0": X[:, 0], "x1": X[:, 1]})
    lab = pl.DataFrame({"event_id": ids[:100], "y": y[:100]})
    p = sl.Pipeline.of(op().op)
    ctx = Context()
    out = p.apply(ev, side={"feedback": lab}, ctx=ctx)
    assert out.height == 200 and out["prediction"].null_count() == 200
    raw = pl.DataFrame(
        {
            "value": [
                orjson.dumps({"event_id": i, "y": int(v)})
                for i, v in zip(ids, y.tolist(), strict=True)
            ]
        }
    )
    assert p.apply(ev, side={"feedback": raw}).height == 200  # raw records: decoded
    with pytest.raises(ConfigError, match="side input"):
        p.apply(ev, side={"nope": lab})


def test_verbs_show_their_full_signature():
    import inspect

    for verb in (
        sl.ml.online_classifier,
        sl.ml.online_regressor,
        sl.ml.sequential_k_means,
        sl.ml.standard_scaler,
    ):
        params = inspect.signature(verb).parameters.values()
        assert all(p.kind is not p.VAR_KEYWORD for p in params), verb.__name__
        assert ">>>" in verb.__doc__
    assert {"key_by", "ttl", "max_pending", "name"} <= set(
        inspect.signature(sl.ml.online_regressor).parameters
    )
    assert {"distance", "init", "update_every", "output_distance"} <= set(
        inspect.signature(sl.ml.sequential_k_means).parameters
    )
