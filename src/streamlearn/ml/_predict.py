"""Predictions of learners as Polars columns (shared by the online operators)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.errors import ConfigError
from streamlearn.ml.learners.base import Learner

#: class probabilities at prediction time (columns: ``classes_`` then), kept with an event
PROBA = "__sl_proba"
_I = "__sl_i"  # row position


def as_learner(model: Any) -> Learner:
    """A streamlearn learner, or a scikit-learn ``partial_fit`` estimator or a River
    model wrapped in its adapter."""
    if isinstance(model, Learner):
        return model
    from streamlearn.ml.learners.adapters import RiverAdapter, SklearnPartialFit

    if hasattr(model, "partial_fit"):
        return SklearnPartialFit(model)
    if hasattr(model, "learn_one"):
        return RiverAdapter(model)
    raise ConfigError(
        f"{type(model).__name__} is not a learner: pass a streamlearn learner "
        "(sl.ml.PassiveAggressive(), ...), a scikit-learn estimator with "
        "partial_fit, or a River model"
    )


def predict_frame(model: Learner, x: np.ndarray) -> pl.DataFrame:
    """``prediction``, ``model_updates`` and, where the learner has them, ``score`` and the
    class probabilities (:data:`PROBA`, kept with the pending event for the log-loss)."""
    n = x.shape[0]
    updates = pl.Series("model_updates", np.full(n, int(getattr(model, "n_updates_", 0))))
    none = pl.Series("score", [None] * n, dtype=pl.Float64)
    if not model.fitted:  # nothing learned yet: no prediction, but the event is kept
        return pl.DataFrame([pl.Series("prediction", [None] * n), none, updates])
    cols = [pl.Series("prediction", model.predict_batch(x))]
    tags = model.tags()
    if tags.role == "classifier" and tags.proba:
        proba = model.predict_proba_batch(x)
        cols += [
            pl.Series("score", proba.max(axis=1)),
            pl.Series(PROBA, proba).cast(pl.List(pl.Float64)),
        ]
    elif tags.role == "classifier" and tags.decision:
        d = model.decision_batch(x)
        cols.append(pl.Series("score", np.abs(d) if d.ndim == 1 else d.max(axis=1)))
    else:  # a regressor, or a classifier with no confidence to give
        cols.append(none)
    return pl.DataFrame([*cols, updates])


def predict_by_key(model_of: Any, x: np.ndarray, keys: pl.Series | None) -> pl.DataFrame:
    """Predictions of the model of each row's key (``model_of(key)``), in row order."""
    if keys is None:
        return predict_frame(model_of(None), x)
    groups = (
        pl.DataFrame({"k": keys})
        .with_row_index(_I)
        .group_by("k", maintain_order=True)
        .agg(pl.col(_I))
    )
    parts = []
    for key, idx in groups.iter_rows():  # one iteration per key, not per row
        rows = np.asarray(idx, dtype=np.int64)
        parts.append(predict_frame(model_of(key), x[rows]).with_columns(pl.Series(_I, rows)))
    return pl.concat(parts, how="diagonal_relaxed").sort(_I).drop(_I)
