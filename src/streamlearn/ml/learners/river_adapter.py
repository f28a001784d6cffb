"""River models under the :class:`~streamlearn.ml.learners.base.Learner` protocol, and
their snapshots through the pickle-free codec of :mod:`streamlearn.formats.river`."""

from __future__ import annotations

from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError, ModelLoadError, StateError, first_line
from streamlearn.core.state import decode_state
from streamlearn.formats.river import dump_river, load_river, river_params
from streamlearn.ml.base import Tags
from streamlearn.ml.learners.base import Learner


def _river() -> Any:
    try:
        import river.base
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("RiverAdapter needs River: pip install streamlearn[river]") from exc
    return river.base


class RiverAdapter(Learner):
    """Run a River estimator (``learn_one`` / ``predict_one``) on batches, row by row.

    This is the slow, record-at-a-time path (tens of thousands of rows per second); use
    it for models streamlearn does not ship. Features are passed as ``{column index:
    value}`` dicts.

    Snapshots (so a pipeline checkpoints the model with its offsets) need a pickle-free
    form of the River model: the allow-listed models of :mod:`streamlearn.formats.river`
    (``LinearRegression``, ``LogisticRegression`` with ``optim.SGD``, ``PAClassifier``,
    ``PARegressor``, and a ``compose.Pipeline`` of ``StandardScaler`` ending in one of
    them) are snapshotted as that codec's JSON, so a restored clone predicts and goes on
    learning exactly as the original. For any other model ``tags().snapshot`` is False
    and :meth:`snapshot` raises :class:`~streamlearn.core.errors.StateError` naming it.

    Parameters
    ----------
    model : River classifier or regressor
        Template; the learner trains ``model.clone()``.

    Attributes
    ----------
    model_ : the trained clone
    classes_ : ndarray (classifiers)
        Labels in order of first appearance.
    n_updates_ : int
        Rows passed to ``learn_one``.

    Examples
    --------
    >>> import numpy as np
    >>> from river import linear_model
    >>> model = RiverAdapter(linear_model.PAClassifier())
    >>> X = np.array([[1.0], [-1.0]] * 5)
    >>> model.learn_batch(X, np.array([True, False] * 5)).predict_batch(X[:2]).tolist()
    [True, False]
    """

    def __init__(self, model: Any) -> None:
        self.model = model

    def clone(self) -> RiverAdapter:
        return type(self)(self.model.clone())

    @property
    def role(self) -> str:  # type: ignore[override]
        """The wrapped model's role (a River ``Classifier`` or ``Regressor``)."""
        base = _river()
        return "classifier" if isinstance(self.model, base.Classifier) else "regressor"

    def tags(self) -> Tags:
        """River classifiers have probabilities; snapshots for allow-listed models."""
        classifier = self.role == "classifier"
        return Tags(
            role=self.role,
            proba=classifier,
            grows_classes=classifier,
            snapshot=self._unsupported() is None,
        )

    def _unsupported(self) -> str | None:
        """Why the model has no pickle-free snapshot (``None``: it has one)."""
        try:
            river_params(self.model)
        except ModelLoadError as exc:
            return str(exc)
        return None

    def _validate_params(self) -> None:
        base = _river()
        if not isinstance(self.model, (base.Classifier, base.Regressor)):
            raise ConfigError(
                f"RiverAdapter: {type(self.model).__name__} is neither a River "
                "classifier nor a regressor"
            )

    def _init_state(self, d: int) -> None:
        self.model_ = self.model.clone()

    def _rows(self, X: np.ndarray) -> list[dict[int, float]]:
        keys = range(X.shape[1])
        return [dict(zip(keys, row, strict=True)) for row in X.tolist()]

    def _learn(self, X: np.ndarray, y: np.ndarray) -> None:
        labels = (self.classes_[y] if self.role == "classifier" else y).tolist()
        learn_one = self.model_.learn_one
        for row, label in zip(self._rows(X), labels, strict=True):
            learn_one(row, label)
        self.n_updates_ += X.shape[0]

    def _predict(self, X: np.ndarray) -> np.ndarray:
        preds = [self.model_.predict_one(row) for row in self._rows(X)]
        if self.role == "regressor":
            return np.asarray([np.nan if p is None else p for p in preds], dtype=np.float64)
        fallback = self.classes_[0].item()
        out = np.asarray([fallback if p is None else p for p in preds])
        return out.astype(self.classes_.dtype) if out.size else self.classes_[:0]

    def _proba(self, X: np.ndarray) -> np.ndarray:
        col = {c: i for i, c in enumerate(self.classes_.tolist())}
        out = np.zeros((X.shape[0], len(col)))
        for i, row in enumerate(self._rows(X)):
            for label, p in self.model_.predict_proba_one(row).items():
                if label in col:
                    out[i, col[label]] = p
        return out

    # -- state: the River model as formats.river JSON, keyed "0".."d-1" -------------------
    _state_arrays = ("classes_",)

    def snapshot(self) -> bytes:
        """The adapter's counters and classes plus the model as JSON (no pickle)."""
        self._check_snapshot()
        return super().snapshot()

    def restore(self, blob: bytes) -> None:
        """Load a :meth:`snapshot` into a fresh clone (same River model and parameters);
        a snapshot that does not fit leaves the adapter unfitted."""
        self._check_snapshot()
        try:
            values, _ = decode_state(blob)
        except Exception as exc:
            raise StateError(f"corrupt learner snapshot: {first_line(exc)}") from None
        # before the base's check, whose message would print the River model's repr
        if values.get("learner") == "RiverAdapter" and values.get("river_params") != river_params(
            self.model
        ):
            raise StateError(
                "snapshot was taken with another River model or other parameters than "
                f"this adapter's {type(self.model).__name__}; restore it into a clone of "
                "that adapter"
            )
        try:
            super().restore(blob)
        except StateError:
            for name in ("n_features_in_", "n_seen_", "n_updates_", "classes_", "model_"):
                self.__dict__.pop(name, None)
            raise

    def _check_snapshot(self) -> None:
        reason = self._unsupported()
        if reason is not None:
            raise StateError(
                f"RiverAdapter cannot snapshot its {type(self.model).__name__} without "
                f"pickle: {reason}"
            )

    def _names(self) -> list[str]:
        return [str(i) for i in range(self.n_features_in_)]

    def _snapshot_extra(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        values["river_params"] = river_params(self.model)
        if hasattr(self, "model_"):
            arrays["river"] = np.frombuffer(dump_river(self.model_, names=self._names()), np.uint8)

    def _restore_extra(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.__dict__.pop("model_", None)
        if "river" not in arrays:
            return
        try:
            self.model_ = load_river(arrays["river"].tobytes(), names=self._names())
        except ModelLoadError as exc:
            raise StateError(f"corrupt RiverAdapter snapshot: {exc}") from None


__all__ = ["RiverAdapter"]
