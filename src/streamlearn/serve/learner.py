"""streamlearn's own learners as registry artifacts: the ``"streamlearn"`` format.

The artifact is the learner's snapshot (:meth:`~streamlearn.ml.learners.base.Learner.
snapshot`: JSON plus NumPy arrays, :mod:`streamlearn.core.state`), which names the
learner's class and its hyperparameters. Loading never runs code named by the bytes:
the class name is looked up in :data:`LEARNERS`, an allow-list of streamlearn's
array-based learners, the learner is built from its (JSON) hyperparameters and the
snapshot restored into it. A name outside the list, or hyperparameters the class does
not take, is a :class:`~streamlearn.serve.errors.ModelLoadError`.

What a learner predicts scores the stream (labels for classifiers, values for
regressors); classifiers that have probabilities give them too.

Examples
--------
>>> import numpy as np
>>> from streamlearn.ml.learners import PassiveAggressive
>>> from streamlearn.registry.records import Signature
>>> model = PassiveAggressive().learn_batch(np.array([[1.0], [-1.0]]), np.array(["up", "down"]))
>>> scorer = LearnerScorer(model.snapshot(), Signature.of(["x"]))
>>> scorer.predict(np.array([[2.0], [-2.0]], dtype=np.float32))[0].tolist()
['up', 'down']
>>> LearnerScorer(b"SLS1junk", Signature.of(["x"]))
Traceback (most recent call last):
...
streamlearn.core.errors.ModelLoadError: not a streamlearn learner snapshot: ...
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamlearn.core.state import decode_state
from streamlearn.registry.records import Signature
from streamlearn.serve.errors import ModelLoadError, first_line

#: learner classes a ``"streamlearn"`` artifact may name (array state, JSON parameters)
LEARNERS = (
    "LinearRegressionSGD",
    "LogisticRegressionSGD",
    "PassiveAggressive",
    "PassiveAggressiveRegressor",
    "SoftConfidenceWeighted",
)


def learner_class(name: Any) -> type:
    """The allow-listed learner class called ``name`` (:class:`ModelLoadError` else)."""
    if name not in LEARNERS:
        raise ModelLoadError(
            f"streamlearn artifact names learner {name!r}, which is not one of {list(LEARNERS)}"
        )
    from streamlearn.ml import learners

    cls: type = getattr(learners, name)
    return cls


def load_learner(data: bytes) -> Any:
    """A learner restored from snapshot bytes, through the allow-list."""
    try:
        values, _ = decode_state(data)
        name, params = values["learner"], values["params"]
    except Exception as exc:
        raise ModelLoadError(f"not a streamlearn learner snapshot: {first_line(exc)}") from None
    cls = learner_class(name)
    if not isinstance(params, dict):
        raise ModelLoadError(f"streamlearn artifact: parameters of {name} are not a mapping")
    try:
        model = cls(**params)
        model.restore(data)
    except Exception as exc:
        raise ModelLoadError(f"cannot restore the {name} snapshot: {first_line(exc)}") from None
    return model


class LearnerScorer:
    """A restored streamlearn learner; scores with ``predict_batch``."""

    format = "streamlearn"

    def __init__(self, data: bytes, signature: Signature) -> None:
        self.model = load_learner(data)
        if not self.model.fitted:
            raise ModelLoadError("the streamlearn learner has not learned anything yet")
        n_in = int(self.model.n_features_in_)
        if n_in != len(signature.names):
            raise ModelLoadError(
                f"the learner takes {n_in} features, the signature lists "
                f"{len(signature.names)} {list(signature.names)}"
            )
        self.signature = signature
        self.proba = self.model.tags().role == "classifier" and self.model.tags().proba
        self.outputs = ("prediction", "probabilities") if self.proba else ("prediction",)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        X64 = np.asarray(X, dtype=np.float64)
        pred = np.asarray(self.model.predict_batch(X64))
        return pred, (self.model.predict_proba_batch(X64) if self.proba else None)


__all__ = ["LEARNERS", "LearnerScorer", "learner_class", "load_learner"]
