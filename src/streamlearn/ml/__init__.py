"""Machine-learning operators and learners.

Examples
--------
>>> import streamlearn as sl
>>> sl.ml.sequential_k_means(["bid", "ask"], k=3).kind
'ml.sequential_k_means'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streamlearn.ml.kmeans import SequentialKMeans
from streamlearn.ml.learner import Learner
from streamlearn.ml.linear import PassiveAggressive
from streamlearn.ml.online import OnlineLearner
from streamlearn.ml.scaler import StandardScaler


def sequential_k_means(features: Sequence[str], **kwargs: Any) -> SequentialKMeans:
    """Online k-means of kdb Insights; see :class:`~streamlearn.ml.kmeans.SequentialKMeans`."""
    return SequentialKMeans(features=tuple(features), **kwargs)


def standard_scaler(features: Sequence[str], *, name: str | None = None) -> StandardScaler:
    """Streaming standardisation; see :class:`~streamlearn.ml.scaler.StandardScaler`."""
    return StandardScaler(features=tuple(features), name=name)


def online_classifier(features: Sequence[str], *, model: Learner, feedback: Any,
                      id: str = "event_id", label: str = "y", **kwargs: Any) -> OnlineLearner:
    """Predict events now, learn from delayed labels; see :class:`OnlineLearner`."""
    if model.task != "classification":
        raise ValueError("online_classifier needs a classification model")
    return OnlineLearner(features=tuple(features), model=model, feedback=feedback, id=id,
                         label=label, **kwargs)


def online_regressor(features: Sequence[str], *, model: Learner, feedback: Any,
                     id: str = "event_id", label: str = "y", **kwargs: Any) -> OnlineLearner:
    """As :func:`online_classifier`, for regression (MAE, RMSE, R²)."""
    if model.task != "regression":
        raise ValueError("online_regressor needs a regression model")
    return OnlineLearner(features=tuple(features), model=model, feedback=feedback, id=id,
                         label=label, **kwargs)


__all__ = ["Learner", "OnlineLearner", "PassiveAggressive", "SequentialKMeans",
           "StandardScaler", "online_classifier", "online_regressor", "sequential_k_means",
           "standard_scaler"]
