"""The public names of sl.ml and sl.join, and the roles of every model."""

import numpy as np
import pytest

import streamlearn.join as join_pkg
import streamlearn.ml as ml
from streamlearn.core.errors import StateError


@pytest.mark.parametrize("pkg", [ml, join_pkg], ids=["ml", "join"])
def test_all_is_sorted_and_complete(pkg):
    assert pkg.__all__ == sorted(pkg.__all__)
    assert all(hasattr(pkg, name) for name in pkg.__all__)


def test_models_carry_estimator_names_operators_operator_names():
    assert ml.SequentialKMeans().tags().role == "clusterer"
    assert ml.StandardScaler().tags().role == "transformer"
    assert isinstance(ml.sequential_k_means(["x"]), ml.KMeansOperator)
    assert isinstance(ml.standard_scaler(["x"]), ml.ScalerOperator)
    assert not hasattr(ml, "OnlineLearner")


def test_tuple_labels_learn_and_predict_but_do_not_snapshot():
    """Any hashable label is learned; pickle-free snapshots hold only typed arrays, so a
    model of tuple labels refuses to snapshot with a clear error instead of pickling."""
    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.empty(20, dtype=object)
    y[:] = [("a", 1), ("b", 2)] * 10
    model = ml.PassiveAggressive().learn_batch(X, y)
    assert set(model.predict_batch(X).tolist()) <= {("a", 1), ("b", 2)}
    with pytest.raises(StateError, match="dtype object"):
        model.snapshot()
