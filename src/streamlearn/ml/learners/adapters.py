"""Adapters that run third-party online models under the :class:`Learner` protocol.

- :class:`SklearnPartialFit`: any scikit-learn estimator with ``partial_fit``.
- :class:`RiverAdapter`: any River estimator (record-at-a-time ``learn_one``; the slow
  path, for models streamlearn does not ship). River is an optional extra; the class
  lives in :mod:`streamlearn.ml.learners.river_adapter`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError, StateError
from streamlearn.ml.base import Tags
from streamlearn.ml.learners._ovr import grow_rows, ovr_growth
from streamlearn.ml.learners._sklearn import quiet_sklearn
from streamlearn.ml.learners.base import Learner
from streamlearn.ml.learners.river_adapter import RiverAdapter


class SklearnPartialFit(Learner):
    """Wrap a scikit-learn estimator that has ``partial_fit``.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Template, never fitted itself: the learner fits ``sklearn.base.clone(estimator)``.
        Pass ``shuffle=False`` to SGD estimators to learn rows in order.
    classes : array-like or None
        Labels known up front (classifiers). Without it, the first batch must hold at
        least two labels for estimators that need two.

    Attributes
    ----------
    estimator_ : the fitted clone
    classes_ : ndarray (classifiers)
        ``estimator_.classes_``.
    n_updates_ : int
        Rows passed to ``partial_fit`` (the estimator does not report updates).
    n_skipped_ : int
        Rows with an unseen label that the estimator could not grow into (see Notes).

    Notes
    -----
    Unseen labels: SGD-based linear classifiers (``SGDClassifier``, ``Perceptron``,
    without averaging) grow a class, with the one-vs-rest rules of
    :mod:`~streamlearn.ml.learners.base`. Other classifiers cannot: their rows with an
    unseen label are skipped, counted in ``n_skipped_``, with a warning the first time.

    Snapshots hold the public fitted attributes of the estimator (names ending in
    ``_``) that are NumPy arrays, scalars, strings or None, plus ``get_params()`` to
    check the restore target; no pickle. Estimators with other fitted state (nested
    estimators, lists, callables) raise :class:`~streamlearn.core.errors.StateError`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.naive_bayes import GaussianNB
    >>> model = SklearnPartialFit(GaussianNB())
    >>> model.learn_batch(np.array([[0.0], [0.1], [5.0], [5.2]]), np.array(["a", "a", "b", "b"]))
    SklearnPartialFit(estimator=GaussianNB())
    >>> model.predict_batch(np.array([[4.8]])).tolist()
    ['b']
    """

    _encodes_labels = False

    def __init__(self, estimator: Any, *, classes: Any = None) -> None:
        self.estimator = estimator
        self.classes = classes

    def clone(self) -> SklearnPartialFit:
        from sklearn.base import clone

        classes = None if self.classes is None else np.asarray(self.classes).copy()
        return type(self)(clone(self.estimator), classes=classes)

    @property
    def role(self) -> str:  # type: ignore[override]
        """The wrapped estimator's role (scikit-learn's ``is_classifier``)."""
        from sklearn.base import is_classifier

        return "classifier" if is_classifier(self.estimator) else "regressor"

    def tags(self) -> Tags:
        """From the estimator: ``decision_function`` / ``predict_proba``; batch-invariant
        when rows are learned in order and batch cuts do not matter (no shuffling and, for
        classifiers, ``classes`` given, else the first batch fixes the initial classes);
        classes grow only for a plain ``SGDClassifier`` (whose weights can be extended)."""
        from sklearn.linear_model import SGDClassifier

        est, classifier = self.estimator, self.role == "classifier"
        invariant = not est.get_params().get("shuffle", False) and (
            not classifier or self.classes is not None
        )
        return Tags(
            role=self.role,
            decision=classifier and hasattr(est, "decision_function"),
            proba=classifier and hasattr(est, "predict_proba"),
            batch_invariant=invariant,
            grows_classes=classifier
            and isinstance(est, SGDClassifier)
            and not getattr(est, "average", 0),
        )

    @property
    def classes_(self) -> np.ndarray:  # type: ignore[override]
        return self.estimator_.classes_

    def _validate_params(self) -> None:
        if not hasattr(self.estimator, "partial_fit"):
            raise ConfigError(
                f"SklearnPartialFit: {type(self.estimator).__name__} has no "
                "partial_fit; wrap an online estimator (SGDClassifier, ...)"
            )

    def _init_state(self, d: int) -> None:
        from sklearn.base import clone

        self.estimator_ = clone(self.estimator)
        self.n_skipped_ = 0

    def _learn(self, X: np.ndarray, y: np.ndarray) -> None:
        est = self.estimator_
        if self.role != "classifier":
            self._fit(X, y)
        elif not hasattr(est, "classes_"):
            known = np.unique(y) if self.classes is None else np.asarray(self.classes)
            self._fit(X, y, classes=np.union1d(known, np.unique(y)))
        else:
            unseen = ~np.isin(y, est.classes_)
            if not unseen.any():
                self._fit(X, y)
            elif self.tags().grows_classes:  # add each class at the row where it first appears
                new, first = np.unique(y[unseen], return_index=True)
                order = np.argsort(first, kind="stable")
                prev = 0
                for label, start in zip(
                    new[order], np.flatnonzero(unseen)[first[order]], strict=True
                ):
                    if start > prev:
                        self._fit(X[prev:start], y[prev:start])
                    self._grow_estimator(label)
                    prev = start
                self._fit(X[prev:], y[prev:])
            else:
                if self.n_skipped_ == 0:
                    warnings.warn(
                        f"SklearnPartialFit: {type(est).__name__} cannot learn new "
                        f"labels {np.unique(y[unseen]).tolist()}; their rows are "
                        "skipped",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                self.n_skipped_ += int(unseen.sum())
                self.n_seen_ -= int(unseen.sum())
                if not unseen.all():
                    self._fit(X[~unseen], y[~unseen])

    def _fit(self, X: np.ndarray, y: np.ndarray, **kwargs: Any) -> None:
        est = self.estimator_
        try:
            with quiet_sklearn():
                est.partial_fit(X, y, **kwargs)
        except ValueError as exc:
            if "classes" in kwargs and len(kwargs["classes"]) < 2:
                raise ConfigError(
                    f"SklearnPartialFit: {type(est).__name__} needs two labels "
                    f"on its first batch ({exc}); pass classes=[...]"
                ) from exc
            raise
        self.n_updates_ += X.shape[0]

    def _grow_estimator(self, label: Any) -> None:
        est = self.estimator_
        old = len(est.classes_)
        src, sign = ovr_growth(old, old + 1)
        est.coef_ = np.ascontiguousarray(grow_rows(est.coef_, src, sign, 0.0))
        est.intercept_ = grow_rows(est.intercept_, src, sign, 0.0)
        est.classes_ = np.concatenate([est.classes_, [label]])

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.predict(X)

    def _decision(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.decision_function(X)

    def _proba(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.predict_proba(X)

    _state_values = ("n_skipped_",)

    def _snapshot_extra(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if not hasattr(self, "estimator_"):
            return
        kinds: dict[str, str] = {}
        for name, value in vars(self.estimator_).items():
            if name.startswith("_") or not name.endswith("_"):
                continue
            if value is None:
                kinds[name] = "none"
                continue
            if isinstance(value, np.ndarray):
                kind, arr = "array", value
                if arr.dtype.hasobject:
                    arr = np.asarray(arr.tolist())
            elif isinstance(value, (bool, int, float, str, np.generic)):
                kind, arr = (
                    ("numpy" if isinstance(value, np.generic) else "python"),
                    np.asarray(value),
                )
            else:
                raise StateError(
                    f"SklearnPartialFit cannot snapshot {type(self.estimator_).__name__}."
                    f"{name} (a {type(value).__name__}): only NumPy arrays and scalars are "
                    "serialised (no pickle)"
                )
            if arr.dtype.hasobject:
                raise StateError(
                    f"SklearnPartialFit cannot snapshot "
                    f"{type(self.estimator_).__name__}.{name}: mixed-type array"
                )
            kinds[name] = kind
            arrays[f"estimator.{name}"] = arr
        values["estimator_state"] = kinds

    def _restore_extra(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        from sklearn.base import clone

        self.__dict__.pop("estimator_", None)
        if "estimator_state" not in values:
            return
        est = clone(self.estimator)
        for name, kind in values["estimator_state"].items():
            if kind == "none":
                value: Any = None
            else:
                arr = arrays[f"estimator.{name}"]
                value = arr if kind == "array" else (arr[()] if kind == "numpy" else arr.item())
            setattr(est, name, value)
        self.estimator_ = est


__all__ = ["RiverAdapter", "SklearnPartialFit"]
