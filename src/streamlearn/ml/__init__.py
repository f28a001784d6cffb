"""Machine-learning operators and learners.

Operators (pipeline steps): :func:`sequential_k_means`, :func:`standard_scaler`,
:func:`online_classifier`, :func:`online_regressor`. Learners (the models inside them,
usable on their own with NumPy batches): :class:`PassiveAggressive`,
:class:`SoftConfidenceWeighted`, :class:`LogisticRegressionSGD`,
:class:`LinearRegressionSGD`, and the adapters :class:`SklearnPartialFit` and
:class:`RiverAdapter`.

Examples
--------
>>> import streamlearn as sl
>>> sl.ml.sequential_k_means(["bid", "ask"], k=3).kind
'ml.sequential_k_means'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streamlearn.core.errors import ConfigError
from streamlearn.ml.kmeans import SequentialKMeans
from streamlearn.ml.learners import (
    LinearRegressionSGD,
    LogisticRegressionSGD,
    PassiveAggressive,
    RiverAdapter,
    SklearnPartialFit,
    SoftConfidenceWeighted,
)
from streamlearn.ml.learners.base import Learner
from streamlearn.ml.metrics import ClassificationMetrics, RegressionMetrics
from streamlearn.ml.online import OnlineLearner, as_learner
from streamlearn.ml.scaler import StandardScaler


def sequential_k_means(features: Sequence[str], **kwargs: Any) -> SequentialKMeans:
    """Online k-means of kdb Insights; see :class:`~streamlearn.ml.kmeans.SequentialKMeans`."""
    return SequentialKMeans(features=tuple(features), **kwargs)


def standard_scaler(features: Sequence[str], *, name: str | None = None) -> StandardScaler:
    """Streaming standardisation; see :class:`~streamlearn.ml.scaler.StandardScaler`."""
    return StandardScaler(features=tuple(features), name=name)


def online_classifier(features: Sequence[str], *, model: Any, feedback: Any,
                      id: str = "event_id", label: str = "y", **kwargs: Any) -> OnlineLearner:
    """Predict events now, learn from their labels when they arrive on ``feedback``.

    ``model`` is a classifier: a streamlearn learner, a scikit-learn estimator with
    ``partial_fit`` or a River classifier. Other settings (``key_by``, ``ttl``,
    ``max_pending``, ``metrics_topic``...) are those of :class:`OnlineLearner`.

    Examples
    --------
    >>> import streamlearn as sl
    >>> sl.ml.online_classifier(["x1", "x2"], model=sl.ml.SoftConfidenceWeighted(),
    ...                         feedback=sl.read.from_kafka("labels")).kind
    'ml.online'
    """
    learner = as_learner(model)
    if learner.task != "classification":
        raise ConfigError(f"online_classifier needs a classifier; {learner!r} is a regressor "
                          "(use online_regressor)")
    return OnlineLearner(features=tuple(features), model=learner, feedback=feedback, id=id,
                         label=label, **kwargs)


def online_regressor(features: Sequence[str], *, model: Any, feedback: Any,
                     id: str = "event_id", label: str = "y", **kwargs: Any) -> OnlineLearner:
    """As :func:`online_classifier`, for regression (metrics: MAE, RMSE, R²).

    Examples
    --------
    >>> import streamlearn as sl
    >>> sl.ml.online_regressor(["x"], model=sl.ml.PassiveAggressive(task="regression"),
    ...                        feedback=sl.read.from_kafka("targets"), label="price").label
    'price'
    """
    learner = as_learner(model)
    if learner.task != "regression":
        raise ConfigError(f"online_regressor needs a regressor; {learner!r} is a classifier "
                          "(use online_classifier)")
    return OnlineLearner(features=tuple(features), model=learner, feedback=feedback, id=id,
                         label=label, **kwargs)


__all__ = [
    "ClassificationMetrics",
    "Learner",
    "LinearRegressionSGD",
    "LogisticRegressionSGD",
    "OnlineLearner",
    "PassiveAggressive",
    "RegressionMetrics",
    "RiverAdapter",
    "SequentialKMeans",
    "SklearnPartialFit",
    "SoftConfidenceWeighted",
    "StandardScaler",
    "online_classifier",
    "online_regressor",
    "sequential_k_means",
    "standard_scaler",
]
