"""scikit-learn ``partial_fit`` estimators and streamlearn learners on mini-batches.

Both run under the :class:`~streamlearn.ml.learners.base.Learner` protocol (a
``partial_fit`` estimator through :class:`~streamlearn.ml.learners.SklearnPartialFit`),
whose pickle-free snapshot is the adapter's state. Export: a streamlearn learner as its
snapshot (registry format ``"streamlearn"``), a scikit-learn estimator as ONNX through
skl2onnx (linear models, naive Bayes...).

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import SGDRegressor
>>> a = LearnerAdapter(SGDRegressor(random_state=0))
>>> _ = a.fit(np.array([[0.0], [1.0]]), np.array([0.0, 1.0]))
>>> b = LearnerAdapter(SGDRegressor(random_state=0))
>>> b.load(*a.state())
>>> b.learner.predict_batch(np.array([[1.0]])) == a.learner.predict_batch(np.array([[1.0]]))
array([ True])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.ml.minibatch.base import Adapter, Exported


class LearnerAdapter(Adapter):
    """A clone of the template learner (or of the wrapped ``partial_fit`` estimator)."""

    numeric_labels = False

    def __init__(self, template: Any) -> None:
        from streamlearn.ml._predict import as_learner

        learner = as_learner(template).clone()
        if not learner.tags().snapshot:
            raise ConfigError(
                f"sl.ml.train cannot train {type(template).__name__}: its state cannot be "
                "snapshotted without pickle"
            )
        self.learner = learner

    def fit(self, X: np.ndarray, y: np.ndarray) -> float | None:
        self.learner.learn_batch(X, y)
        return None

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if not self.learner.fitted:
            return {"fitted": False}, {}
        return {"fitted": True}, {"learner": np.frombuffer(self.learner.snapshot(), np.uint8)}

    def load(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if values.get("fitted"):
            self.learner.restore(arrays["learner"].tobytes())

    def export(self, features: Sequence[str]) -> Exported:
        return export_learner(self.learner, features)


def export_learner(learner: Any, features: Sequence[str]) -> Exported:
    """A fitted learner as a registry artifact, with the output names its scorer has."""
    from streamlearn.registry.artifact import learner_artifact
    from streamlearn.registry.records import Signature
    from streamlearn.serve.loader import load_scorer

    fmt, data = learner_artifact(learner, None, list(features))
    outputs = load_scorer(fmt, data, Signature.of(list(features))).outputs
    return fmt, data, tuple(outputs)


__all__ = ["LearnerAdapter", "export_learner"]
