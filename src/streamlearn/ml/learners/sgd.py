"""Linear models trained by stochastic gradient descent, delegating to scikit-learn.

scikit-learn's ``SGDClassifier`` / ``SGDRegressor`` do the per-row updates in Cython.
They are used here as compute kernels: the learner owns the weights (``coef_``,
``intercept_``, the step counter ``t_``) and injects them into the estimator before each
``partial_fit``, so classes can grow between batches (scikit-learn's own ``partial_fit``
cannot) and snapshots hold nothing but arrays. ``shuffle=False``: rows are learned in
order, so learning a batch equals learning it in consecutive chunks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from streamlearn.ml.base import Classifier, Regressor, Tags
from streamlearn.ml.learners._ovr import (
    grow_rows,
    ovr_decision,
    ovr_growth,
    ovr_predict,
    ovr_proba,
    ovr_rows,
)
from streamlearn.ml.learners._sklearn import quiet_sklearn
from streamlearn.ml.learners._validation import check_choice, check_positive
from streamlearn.ml.learners.base import Learner

_SCHEDULES = ("optimal", "constant", "invscaling")


def sgd_partial_fit(
    est: Any,
    X: np.ndarray,
    y: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    t: float,
    n_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """One in-order ``partial_fit`` pass of a scikit-learn SGD estimator from given weights.

    Classification takes class indices ``y`` (``0 .. n_classes-1``) and the one-vs-rest
    layout of :mod:`~streamlearn.ml.learners.base`; a single class is run as the positive
    side of a binary problem. Returns the new ``(coef, intercept, t)``.
    """
    est.n_features_in_ = X.shape[1]
    if n_classes is not None:
        est.classes_ = np.arange(max(n_classes, 2))
        if n_classes == 1:
            y = np.ones(X.shape[0], dtype=np.intp)
    est.coef_ = np.ascontiguousarray(coef, dtype=np.float64)
    est.intercept_ = np.ascontiguousarray(intercept, dtype=np.float64)
    est.t_ = float(t)
    with quiet_sklearn():
        est.partial_fit(X, y)
    return est.coef_, est.intercept_, float(est.t_)


class _OvRSGD(Classifier, Learner):
    """Shared state handling of one-vs-rest linear classifiers run by scikit-learn SGD."""

    def tags(self) -> Tags:
        return replace(super().tags(), decision=True)

    _state_arrays = ("classes_", "coef_", "intercept_")
    _state_values = ("t_",)

    def prepare(self) -> None:
        import sklearn.linear_model  # noqa: F401  (~1 s, once, before the stream)

    def _estimator(self) -> Any:
        raise NotImplementedError

    def _kernel(self) -> Any:
        if getattr(self, "_sk", None) is None:
            self._sk = self._estimator()
        return self._sk

    def _init_state(self, d: int) -> None:
        self.coef_ = np.zeros((0, d))
        self.intercept_ = np.zeros(0)
        self.t_ = 1.0

    def _grow(self, old: int, new: int) -> None:
        src, sign = ovr_growth(old, new)
        self.coef_ = grow_rows(self.coef_, src, sign, 0.0)
        self.intercept_ = grow_rows(self.intercept_, src, sign, 0.0)

    def _scores(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef_.T + self.intercept_

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return ovr_predict(self._scores(X), self.classes_)

    def _decision(self, X: np.ndarray) -> np.ndarray:
        return ovr_decision(self._scores(X), len(self.classes_))

    def _sk_learn(self, X: np.ndarray, y: np.ndarray) -> None:
        assert self.coef_.shape[0] == ovr_rows(len(self.classes_))
        self.coef_, self.intercept_, self.t_ = sgd_partial_fit(
            self._kernel(), X, y, self.coef_, self.intercept_, self.t_, len(self.classes_)
        )


class LogisticRegressionSGD(_OvRSGD):
    """Online logistic regression (one-vs-rest), scikit-learn's ``SGDClassifier(log_loss)``.

    Parameters
    ----------
    alpha : float
        L2 regularisation strength (``> 0`` with ``learning_rate="optimal"``).
    eta0 : float
        Initial step for the ``"constant"`` and ``"invscaling"`` schedules.
    learning_rate : {"optimal", "constant", "invscaling"}
        scikit-learn's step schedules; the step counter ``t_`` carries across batches.
    fit_intercept : bool
        Learn an intercept.
    seed : int or None
        ``random_state`` of the estimator (rows are never shuffled).

    Attributes
    ----------
    classes_, coef_, intercept_, t_
        Labels in order of first appearance, one-vs-rest weights (see
        :mod:`~streamlearn.ml.learners.base`), scikit-learn's step counter.
    n_updates_ : int
        Equals ``n_seen_``: every gradient step changes the weights.

    Notes
    -----
    ``predict_proba_batch`` is the logistic sigmoid of the score for two classes and, for
    more, scikit-learn's one-vs-rest normalisation (sigmoids divided by their sum).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]] * 20)
    >>> model = LogisticRegressionSGD(seed=0).learn_batch(X, np.array([0, 0, 1, 1] * 20))
    >>> model.predict_batch(np.array([[-3.0], [3.0]])).tolist()
    [0, 1]
    >>> model.predict_proba_batch(np.array([[3.0]])).round(2).sum()
    np.float64(1.0)
    """

    def tags(self) -> Tags:
        return replace(super().tags(), proba=True)

    def __init__(
        self,
        *,
        alpha: float = 1e-4,
        eta0: float = 0.01,
        learning_rate: str = "optimal",
        fit_intercept: bool = True,
        seed: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.eta0 = eta0
        self.learning_rate = learning_rate
        self.fit_intercept = fit_intercept
        self.seed = seed

    def _validate_params(self) -> None:
        check_choice(self, "learning_rate", self.learning_rate, _SCHEDULES)
        check_positive(self, "alpha", self.alpha, allow_zero=self.learning_rate != "optimal")
        check_positive(self, "eta0", self.eta0)

    def _estimator(self) -> Any:
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(
            loss="log_loss",
            penalty="l2",
            alpha=self.alpha,
            eta0=self.eta0,
            learning_rate=self.learning_rate,
            fit_intercept=self.fit_intercept,
            shuffle=False,
            random_state=self.seed,
        )

    def _learn(self, X: np.ndarray, y: np.ndarray) -> None:
        self._sk_learn(X, y)
        self.n_updates_ += X.shape[0]

    def _proba(self, X: np.ndarray) -> np.ndarray:
        scores = np.clip(self._scores(X), -500.0, 500.0)
        return ovr_proba(1.0 / (1.0 + np.exp(-scores)), len(self.classes_))


class LinearRegressionSGD(Regressor, Learner):
    """Online linear regression, scikit-learn's ``SGDRegressor`` (squared error, L2).

    Parameters
    ----------
    alpha : float
        L2 regularisation strength.
    eta0 : float
        Initial step.
    learning_rate : {"invscaling", "constant", "optimal"}
        scikit-learn's step schedules; the step counter ``t_`` carries across batches.
    power_t : float
        Exponent of the ``"invscaling"`` schedule.
    fit_intercept : bool
        Learn an intercept.
    seed : int or None
        ``random_state`` of the estimator (rows are never shuffled).

    Attributes
    ----------
    coef_ : ndarray of shape (d,)
    intercept_ : ndarray of shape (1,)
    t_ : float
        scikit-learn's step counter.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(5000, 2))
    >>> model = LinearRegressionSGD(seed=0).learn_batch(X, 3 * X[:, 0] - X[:, 1] + 1)
    >>> model.predict_batch(np.array([[1.0, 1.0]])).round(1).tolist()
    [3.0]
    """

    _state_arrays = ("coef_", "intercept_")
    _state_values = ("t_",)

    def __init__(
        self,
        *,
        alpha: float = 1e-4,
        eta0: float = 0.01,
        learning_rate: str = "invscaling",
        power_t: float = 0.25,
        fit_intercept: bool = True,
        seed: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.eta0 = eta0
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.fit_intercept = fit_intercept
        self.seed = seed

    def _validate_params(self) -> None:
        check_choice(self, "learning_rate", self.learning_rate, _SCHEDULES)
        check_positive(self, "alpha", self.alpha, allow_zero=self.learning_rate != "optimal")
        check_positive(self, "eta0", self.eta0)
        check_positive(self, "power_t", self.power_t, allow_zero=True)

    def prepare(self) -> None:
        import sklearn.linear_model  # noqa: F401  (~1 s, once, before the stream)

    def _init_state(self, d: int) -> None:
        self.coef_ = np.zeros(d)
        self.intercept_ = np.zeros(1)
        self.t_ = 1.0

    def _learn(self, X: np.ndarray, y: np.ndarray) -> None:
        if getattr(self, "_sk", None) is None:
            from sklearn.linear_model import SGDRegressor

            self._sk = SGDRegressor(
                loss="squared_error",
                penalty="l2",
                alpha=self.alpha,
                eta0=self.eta0,
                learning_rate=self.learning_rate,
                power_t=self.power_t,
                fit_intercept=self.fit_intercept,
                shuffle=False,
                random_state=self.seed,
            )
        self.coef_, self.intercept_, self.t_ = sgd_partial_fit(
            self._sk, X, y, self.coef_, self.intercept_, self.t_
        )
        self.n_updates_ += X.shape[0]

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef_ + self.intercept_[0]
