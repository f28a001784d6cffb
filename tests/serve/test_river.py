"""River models through the registry without pickle: the JSON codec round-trips the
allow-listed models (same predictions, same learning afterwards), refuses anything else
in one line, and the compiled NumPy scorer gives what River's ``predict_one`` gives."""

from __future__ import annotations

import time

import numpy as np
import orjson
import pytest
from river import linear_model, optim, tree

from streamlearn.core.errors import ConfigError
from streamlearn.registry.artifact import to_artifact
from streamlearn.registry.records import Signature
from streamlearn.serve.errors import ModelLoadError
from streamlearn.serve.loader import load_scorer
from streamlearn.serve.river import RiverScorer, dump_river, load_river
from tests.formats.river_models import MODELS

NAMES = ["a", "b", "c"]


def rows(n: int, seed: int) -> np.ndarray:
    # float32 values, so the float32 block the step feeds is exactly what River saw
    rng = np.random.default_rng(seed)
    return rng.normal([1.0, -2.0, 5.0], [1.0, 3.0, 0.5], (n, 3)).astype(np.float32)


def as_dicts(X: np.ndarray) -> list[dict[str, float]]:
    return [dict(zip(NAMES, map(float, r), strict=True)) for r in X]


def target(X: np.ndarray, kind: str) -> list:
    y = 3.0 * X[:, 0] - 0.5 * X[:, 1] + 2.0 * X[:, 2] - 9.0
    return [bool(v > 0) for v in y] if kind == "clf" else [float(v) for v in y]


def fitted(name: str, n: int = 400):
    make, kind = MODELS[name]
    model = make()
    X = rows(n, 1)
    for x, y in zip(as_dicts(X), target(X, kind), strict=True):
        model.learn_one(x) if kind == "none" else model.learn_one(x, y)
    return model, kind


def state(model) -> bytes:
    return dump_river(model)  # the full learned state, as the codec sees it


@pytest.mark.parametrize("name", sorted(MODELS))
def test_round_trip_predicts_and_learns_like_the_original(name):
    model, kind = fitted(name)
    back = load_river(dump_river(model))
    assert type(back) is type(model)
    X = rows(300, 2)
    for x in as_dicts(X):
        assert back.predict_one(x) == model.predict_one(x)
    # the scorer (NumPy over the float32 block) gives what predict_one gives
    scorer = load_scorer("river", dump_river(model), Signature.of(NAMES))
    pred, proba = scorer.predict(X)
    want = [model.predict_one(x) for x in as_dicts(X)]
    if kind == "reg":
        np.testing.assert_allclose(pred, want, rtol=1e-9, atol=1e-9)
    else:
        assert pred.tolist() == want
    if kind == "clf":
        p_true = [model.predict_proba_one(x)[True] for x in as_dicts(X)]
        np.testing.assert_allclose(proba[:, 1], p_true, rtol=1e-9, atol=1e-12)
        assert scorer.outputs == ("prediction", "probabilities")
    # learning goes on from the same state (weights, intercept, optimizer iterations)
    more = rows(100, 3)
    for x, y in zip(as_dicts(more), target(more, kind), strict=True):
        for m in (model, back):
            m.learn_one(x) if kind == "none" else m.learn_one(x, y)
    assert state(back) == state(model)


def test_unknown_class_is_refused_in_one_line():
    doc = orjson.loads(dump_river(fitted("logreg")[0]))
    doc["model"]["class"] = "builtins.eval"
    with pytest.raises(ModelLoadError) as err:
        load_river(orjson.dumps(doc))
    assert "'builtins.eval', which is not allow-listed" in str(err.value)
    assert "\n" not in str(err.value)
    # a nested parameter object counts too
    doc = orjson.loads(dump_river(fitted("logreg")[0]))
    doc["model"]["params"]["optimizer"]["class"] = "os.system"
    with pytest.raises(ModelLoadError, match=r"'os\.system', which is not allow-listed"):
        RiverScorer(orjson.dumps(doc), Signature.of(NAMES))
    with pytest.raises(ModelLoadError, match="not a streamlearn river artifact"):
        load_river(b"\x80\x04pickle")


def test_push_refuses_a_model_outside_the_allow_list():
    with pytest.raises(ConfigError, match="HoeffdingTreeClassifier as a River model"):
        to_artifact(tree.HoeffdingTreeClassifier(), signature=NAMES)
    with pytest.raises(ConfigError, match="signature="):
        to_artifact(linear_model.LinearRegression())
    with pytest.raises(ConfigError, match="Adam parameter \\(not allow-listed\\)"):
        to_artifact(linear_model.LinearRegression(optimizer=optim.Adam()), signature=NAMES)


def test_push_makes_a_river_artifact_the_loader_scores():
    model, _ = fitted("scaled-logreg")
    fmt, data, sig, _ = to_artifact(model, signature=NAMES)
    assert fmt == "river" and sig.outputs == ("prediction", "probabilities")
    assert load_river(data).predict_one({"a": 1.0, "b": 0.0, "c": 5.0}) == model.predict_one(
        {"a": 1.0, "b": 0.0, "c": 5.0}
    )


def test_scoring_throughput_beats_predict_one_by_far():
    """Numbers for the report: compiled NumPy vs River's own per-record and per-frame
    paths on 20k rows of a scaler + logistic regression (pandas is not installed here;
    River's ``predict_many`` takes a polars frame through narwhals)."""
    import polars as pl

    model, _ = fitted("scaled-logreg")
    scorer = RiverScorer(dump_river(model), Signature.of(NAMES))
    X = rows(20_000, 4)

    def rate(fn) -> float:
        t = time.perf_counter()
        fn()
        return len(X) / (time.perf_counter() - t)

    numpy_rps = max(rate(lambda: scorer.predict(X)) for _ in range(3))
    dicts = as_dicts(X)
    one_rps = rate(lambda: [model.predict_one(x) for x in dicts])
    polars_rps = rate(lambda: model.predict_many(pl.from_numpy(X.astype(np.float64), NAMES)))
    print(
        f"river scoring rows/s: numpy {numpy_rps:,.0f}, predict_one {one_rps:,.0f}, "
        f"predict_many (polars) {polars_rps:,.0f}"
    )
    assert numpy_rps > 20 * one_rps


@pytest.mark.broker
def test_a_pushed_river_model_scores_the_stream(kafka, topic_factory):
    import streamlearn as sl
    from tests.kafka_helpers import consume_all, produce

    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    src, out = topic_factory(partitions=2), topic_factory()
    model, _ = fitted("scaled-logreg")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    rec = reg.push(model, name="churn", alias="champion", signature=NAMES)
    assert rec.format == "river"
    X = rows(1000, 9)
    values = [orjson.dumps({"id": i, **x}) for i, x in enumerate(as_dicts(X))]
    produce(kafka, src, values, keys=[str(i).encode() for i in range(len(values))])
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json({"id": "int", "a": "float", "b": "float", "c": "float"})
        | sl.ml.predict(
            "churn", output="churn", probabilities=True, topic=control, artifact_topic=arts
        )
        | sl.write.to_kafka(out, partitions=1)
    )
    stats = sl.run(pipeline, kafka=kafka, name=f"river-{src}", max_records=len(values))
    assert stats.records_out == len(values) and stats.dead_lettered == 0
    msgs = consume_all(kafka, out, expected=len(values))
    dicts = as_dicts(X)
    assert sorted(orjson.loads(m.value())["id"] for m in msgs) == list(range(len(values)))
    for m in msgs:
        row = orjson.loads(m.value())
        x = dicts[row["id"]]
        assert row["churn"] == model.predict_one(x)
        assert row["churn_proba_1"] == pytest.approx(model.predict_proba_one(x)[True], rel=1e-9)
        assert row["model_version"] == 1
        assert (b"sl-model-version", b"churn:1") in [(k.encode(), v) for k, v in m.headers()]
