"""The "streamlearn" registry format: a learner's snapshot, loaded through an allow-list
of learner classes (never code named by the bytes)."""

from __future__ import annotations

import numpy as np
import pytest

import streamlearn as sl
from streamlearn.core.state import encode_state
from streamlearn.registry.artifact import to_artifact
from streamlearn.registry.records import FORMATS, Signature
from streamlearn.serve.errors import ModelLoadError
from streamlearn.serve.loader import load_scorer

X = np.random.default_rng(0).normal(size=(200, 2))
Y = np.where(X[:, 0] > 0, "up", "down")


@pytest.mark.parametrize(
    "model",
    [
        sl.ml.PassiveAggressive(C=0.5),
        sl.ml.SoftConfidenceWeighted(),
        sl.ml.LogisticRegressionSGD(),
    ],
)
def test_a_pushed_learner_scores_like_itself(model):
    model.learn_batch(X, Y)
    fmt, data, sig, _ = to_artifact(model, signature=["u", "v"])
    assert fmt == "streamlearn" and "streamlearn" in FORMATS
    scorer = load_scorer(fmt, data, sig)
    pred, proba = scorer.predict(X.astype(np.float32))
    np.testing.assert_array_equal(pred, model.predict_batch(X.astype(np.float32)))
    if model.tags().proba:
        np.testing.assert_allclose(proba, model.predict_proba_batch(X.astype(np.float32)))
        assert sig.outputs == ("prediction", "probabilities")


def test_a_regressor_too():
    model = sl.ml.PassiveAggressiveRegressor().learn_batch(X, X[:, 0] * 2)
    fmt, data, sig, _ = to_artifact(model, signature=["u", "v"])
    np.testing.assert_allclose(load_scorer(fmt, data, sig).predict(X)[0], model.predict_batch(X))


def test_classes_outside_the_allow_list_and_bad_bytes_are_refused():
    sig = Signature.of(["u", "v"])
    evil = encode_state({"learner": "RiverAdapter", "params": {}, "state": {}})
    with pytest.raises(ModelLoadError, match="not one of"):
        load_scorer("streamlearn", evil, sig)
    with pytest.raises(ModelLoadError, match="not a streamlearn learner snapshot"):
        load_scorer("streamlearn", b"\x80\x04pickle", sig)
    wrong = encode_state({"learner": "PassiveAggressive", "params": {"nope": 1}, "state": {}})
    with pytest.raises(ModelLoadError, match="cannot restore"):
        load_scorer("streamlearn", wrong, sig)
    fresh = sl.ml.PassiveAggressive()
    with pytest.raises(ModelLoadError, match="has not learned anything"):
        load_scorer("streamlearn", fresh.clone().learn_batch(X[:0], Y[:0]).snapshot(), sig)
    fitted = sl.ml.PassiveAggressive().learn_batch(X, Y).snapshot()
    with pytest.raises(ModelLoadError, match="takes 2 features"):
        load_scorer("streamlearn", fitted, Signature.of(["u"]))
