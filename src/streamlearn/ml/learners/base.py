"""The learner protocol: online models that learn from and predict on NumPy batches.

A :class:`Learner` is the unit the runtime builds once per partition (or key) with
:meth:`Learner.clone`. Batches are columnar: ``X`` is a ``(n, d)`` float array, ``y`` a
``(n,)`` array of labels (ints or strings) or values. The contract, checked for every
shipped learner by :mod:`streamlearn.ml.checks`:

- ``__init__`` only stores keyword hyperparameters; they are validated when learning
  starts (:class:`~streamlearn.core.errors.ConfigError`). Learned state lives in
  attributes ending in ``_`` that do not exist before the first learned row.
- ``learn_batch`` learns rows in order. Rows with a non-finite feature (NaN, ±inf) or a
  missing label (NaN, None) are skipped: not learned, not counted in ``n_seen_``.
  An empty batch is a no-op.
- ``predict_batch`` raises :class:`~streamlearn.core.errors.NotFittedError` before any row
  was learned; non-finite features are read as 0 so a bad row never crashes a batch.
- Classifiers grow their class set when a new label arrives (``classes_`` keeps labels in
  order of first appearance).
- ``snapshot()`` returns bytes from :func:`~streamlearn.core.state.encode_state` (never a
  pickle); ``restore(blob)`` on a fresh clone gives identical predictions.

Capabilities come from :meth:`~streamlearn.ml.base.Model.tags`; the one-vs-rest layout of
the linear classifiers is in :mod:`streamlearn.ml.learners._ovr`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from streamlearn.core.errors import NotFittedError, StateError
from streamlearn.core.state import decode_state, encode_state
from streamlearn.ml._labels import encode_labels
from streamlearn.ml.base import Model, jsonable
from streamlearn.ml.learners._validation import as_float, check_xy, clean_rows

_BASE_VALUES = ("n_features_in_", "n_seen_", "n_updates_")


class Learner(Model):
    """Base class of every online learner (columnar ``learn_batch`` / ``predict_batch``).

    A learner is a :class:`~streamlearn.ml.base.Model` with a supervised role
    (:class:`~streamlearn.ml.base.Classifier` or :class:`~streamlearn.ml.base.Regressor`).
    Subclasses implement ``_init_state(d)``, ``_learn(X, y)`` and ``_predict(X)``; classifiers
    also ``_grow(old, new)`` and, when they have them, ``_decision`` and ``_proba``.
    ``_state_arrays`` / ``_state_values`` name the learned attributes a snapshot holds.

    Attributes
    ----------
    n_seen_ : int
        Rows learned (skipped rows excluded).
    n_updates_ : int
        Rows that changed the model (see each learner for how exactly it is counted).
    n_features_in_ : int
        Width of ``X`` fixed by the first learned batch.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlearn.ml.learners import PassiveAggressive
    >>> model = PassiveAggressive().learn_batch(np.array([[1.0], [-1.0]]), np.array(["up", "down"]))
    >>> model.predict_batch(np.array([[2.0], [-3.0]])).tolist()
    ['up', 'down']
    """

    _encodes_labels: ClassVar[bool] = True
    _state_arrays: ClassVar[tuple[str, ...]] = ()
    _state_values: ClassVar[tuple[str, ...]] = ()

    # -- learning --------------------------------------------------------------------
    def _is_fitted(self) -> bool:
        return getattr(self, "n_seen_", 0) > 0

    @property
    def fitted(self) -> bool:
        """True once a row was learned (before that, ``predict_batch`` raises)."""
        return self._is_fitted()

    def learn_batch(self, X: Any, y: Any) -> Learner:
        """Learn the rows of ``X`` (``(n, d)``) with targets ``y`` (``(n,)``), in row order."""
        self._validate_params()
        X, y = check_xy(X, y, getattr(self, "n_features_in_", None))
        if X.shape[0] == 0:
            return self
        X, y = clean_rows(X, y)
        if X.shape[0] == 0:
            return self
        if not self._is_fitted():
            self.n_features_in_ = X.shape[1]
            self.n_seen_ = 0
            self.n_updates_ = 0
            if self.role == "classifier" and self._encodes_labels:
                self.classes_ = np.empty(0, dtype=y.dtype)
            self._init_state(X.shape[1])
        if self.role == "classifier" and self._encodes_labels:
            self._learn_growing(X, y)
        else:
            self._learn(X, as_float(y) if self.role == "regressor" else y)
        self.n_seen_ += X.shape[0]
        return self

    def _learn_growing(self, X: np.ndarray, y: np.ndarray) -> None:
        """Learn class indices, adding each new class at the row where it first appears.

        So the result does not depend on where the stream was cut into batches.
        """
        classes, idx = encode_labels(self.classes_, y)
        old = len(self.classes_)
        newer = np.flatnonzero(idx >= old)
        _, first = np.unique(idx[newer], return_index=True)
        prev = 0
        for k, start in enumerate(newer[first].tolist(), start=old):
            if start > prev:
                self._learn(X[prev:start], idx[prev:start])
            self.classes_ = classes[: k + 1]
            self._grow(k, k + 1)
            prev = start
        self._learn(X[prev:], idx[prev:])

    @abstractmethod
    def _init_state(self, d: int) -> None: ...

    @abstractmethod
    def _learn(self, X: np.ndarray, y: np.ndarray) -> None: ...

    def _grow(self, old: int, new: int) -> None:
        """Make room for classes ``old .. new-1`` (classifiers)."""
        return None

    # -- prediction ------------------------------------------------------------------
    def _check_predict(self, X: Any) -> np.ndarray:
        if not self._is_fitted():
            raise NotFittedError(
                f"{type(self).__name__} has not learned any row yet: call learn_batch first"
            )
        X, _ = check_xy(X, None, self.n_features_in_)
        if X.shape[0] == 0:
            return np.empty((0, self.n_features_in_))
        finite = np.isfinite(X)
        return X if finite.all() else np.where(finite, X, 0.0)

    def predict_batch(self, X: Any) -> np.ndarray:
        """Class labels (classifiers) or values (regressors), shape ``(n,)``."""
        return self._predict(self._check_predict(X))

    def decision_batch(self, X: Any) -> np.ndarray:
        """Scores: ``(n,)`` for two classes (positive means ``classes_[1]``), else ``(n, K)``."""
        if not self.tags().decision:
            raise NotImplementedError(f"{type(self).__name__} has no decision scores")
        return self._decision(self._check_predict(X))

    def predict_proba_batch(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, K)``, columns in the order of ``classes_``."""
        if not self.tags().proba:
            raise NotImplementedError(f"{type(self).__name__} does not predict probabilities")
        return self._proba(self._check_predict(X))

    @abstractmethod
    def _predict(self, X: np.ndarray) -> np.ndarray: ...

    def _decision(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- state -----------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The learned state as bytes (:func:`~streamlearn.core.state.encode_state`)."""
        if not self.tags().snapshot:
            raise StateError(f"{type(self).__name__} does not support snapshots")
        values: dict[str, Any] = {
            "learner": type(self).__name__,
            "params": jsonable(self.get_params()),
            "state": {},
        }
        arrays: dict[str, np.ndarray] = {}
        for name in _BASE_VALUES + self._state_values:
            if hasattr(self, name):
                values["state"][name] = jsonable(getattr(self, name))
        for name in self._state_arrays:
            if getattr(self, name, None) is not None:
                arrays[name] = getattr(self, name)
        self._snapshot_extra(values, arrays)
        return encode_state(values, arrays)

    def restore(self, blob: bytes) -> None:
        """Load a :meth:`snapshot` into this (fresh) learner; raises StateError on mismatch."""
        if not self.tags().snapshot:
            raise StateError(f"{type(self).__name__} does not support snapshots")
        try:
            values, arrays = decode_state(blob)
        except StateError:
            raise
        except Exception as exc:
            raise StateError(f"corrupt learner snapshot: {exc}") from exc
        name = type(self).__name__
        if values.get("learner") != name:
            raise StateError(f"snapshot of a {values.get('learner')!r} cannot restore a {name}")
        if values.get("params") != jsonable(self.get_params()):
            raise StateError(
                f"snapshot was taken with other hyperparameters than {self!r}: "
                f"{values.get('params')}; restore it into a clone of that learner"
            )
        for attr in _BASE_VALUES + self._state_values + self._state_arrays:
            self.__dict__.pop(attr, None)
        for attr, value in values["state"].items():
            setattr(self, attr, value)
        for attr in self._state_arrays:
            if attr in arrays:
                setattr(self, attr, arrays[attr])
        self._restore_extra(values, arrays)

    def _snapshot_extra(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Hook: add learner-specific state."""
        return None

    def _restore_extra(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Hook: read learner-specific state."""
        return None
