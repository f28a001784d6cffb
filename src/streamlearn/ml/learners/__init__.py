"""Online learners with a columnar API: ``learn_batch(X, y)`` / ``predict_batch(X)``.

Every learner is a :class:`~streamlearn.ml.learners.base.Learner` (the supervised
:class:`~streamlearn.ml.base.Model`: clone per partition, snapshot/restore without
pickle) and passes :func:`streamlearn.ml.checks.check_learner`.

Examples
--------
>>> import numpy as np
>>> from streamlearn.ml.learners import SoftConfidenceWeighted
>>> model = SoftConfidenceWeighted().learn_batch(np.array([[1.0], [-1.0]]), np.array([1, 0]))
>>> model.clone().get_params() == model.get_params()
True
"""

from __future__ import annotations

from streamlearn.ml.learners.adapters import RiverAdapter, SklearnPartialFit
from streamlearn.ml.learners.base import Learner
from streamlearn.ml.learners.passive_aggressive import (
    PassiveAggressive,
    PassiveAggressiveRegressor,
)
from streamlearn.ml.learners.scw import SoftConfidenceWeighted
from streamlearn.ml.learners.sgd import LinearRegressionSGD, LogisticRegressionSGD

__all__ = [
    "Learner",
    "LinearRegressionSGD",
    "LogisticRegressionSGD",
    "PassiveAggressive",
    "PassiveAggressiveRegressor",
    "RiverAdapter",
    "SklearnPartialFit",
    "SoftConfidenceWeighted",
]
