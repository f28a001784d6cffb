"""Passive-Aggressive learning (Crammer, Dekel, Keshet, Shalev-Shwartz, Singer, JMLR 2006).

Every row is a per-example update: if the loss is zero the model stays (passive), else it
moves just enough (aggressive) along the row, with step ``tau``:

=========  ==========================  ======================================
variant    ``tau``                     scikit-learn kernel
=========  ==========================  ======================================
``PA``     ``loss / |x|²``             ``learning_rate="pa1"``, ``eta0=DBL_MAX``
``PA-I``   ``min(C, loss / |x|²)``     ``learning_rate="pa1"``, ``eta0=C``
``PA-II``  ``loss / (|x|² + 1/(2C))``  ``learning_rate="pa2"``, ``eta0=C``
=========  ==========================  ======================================

The loss is the hinge ``max(0, 1 - y w·x)`` for classification and the epsilon-insensitive
``max(0, |y - w·x| - epsilon)`` for regression. With ``fit_intercept`` the intercept is the
weight of a constant feature 1 appended to ``x``, as in the paper, so it counts in ``|x|²``.
(scikit-learn's own ``fit_intercept`` moves the intercept by ``tau`` but leaves it out of
``|x|²``, which overshoots on rows of small norm: on a noise-free linear stream its PA
regressor does not converge. Its kernel is therefore run on the augmented rows with
``fit_intercept=False``.) With ``PA``/``PA-I`` a row of zeros is skipped.
One-vs-rest classification and regression run in scikit-learn's
Cython SGD loop (``SGDClassifier(loss="hinge", penalty=None, learning_rate="pa1"|"pa2")``,
the replacement of its deprecated ``PassiveAggressiveClassifier``); the NumPy loop here is
the reference and also runs the true multiclass PA of the paper (section 7: the correct
class row moves up, the highest-scoring wrong class row moves down, ``|x|²`` doubled).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.ml.base import Classifier, Regressor, Tags
from streamlearn.ml.learners._ovr import (
    grow_rows,
    ovr_decision,
    ovr_growth,
    ovr_predict,
    ovr_targets,
)
from streamlearn.ml.learners._sequential import run_sequential
from streamlearn.ml.learners._validation import check_choice, check_positive
from streamlearn.ml.learners.base import Learner
from streamlearn.ml.learners.sgd import sgd_partial_fit

_VARIANTS = ("PA", "PA-I", "PA-II")


def pa_step(loss: np.ndarray, sq: float, variant: str, C: float) -> np.ndarray:
    """Step sizes ``tau`` for losses ``loss`` on a row of squared norm ``sq``."""
    if variant == "PA-II":
        return loss / (sq + 0.5 / C)
    if sq == 0.0:
        return np.zeros_like(loss)
    tau = loss / sq
    return np.minimum(tau, C) if variant == "PA-I" else tau


class _PassiveAggressiveBase(Learner):
    """The PA updates shared by :class:`PassiveAggressive` and
    :class:`PassiveAggressiveRegressor` (which differ in loss and parameters)."""

    _regression: ClassVar[bool] = False
    _state_arrays: ClassVar[tuple[str, ...]] = ("classes_", "coef_", "intercept_")
    _state_values: ClassVar[tuple[str, ...]] = ("t_",)
    coef_: np.ndarray
    intercept_: np.ndarray
    C: float
    variant: str
    fit_intercept: bool
    backend: str
    multiclass = "ovr"
    epsilon = 0.0

    def _validate_params(self) -> None:
        check_choice(self, "variant", self.variant, _VARIANTS)
        check_choice(self, "backend", self.backend, ("auto", "sklearn", "numpy"))
        check_positive(self, "C", self.C)

    def prepare(self) -> None:
        if self._uses_sklearn():
            import sklearn.linear_model  # noqa: F401  (~1 s, once, before the stream)

    def _crammer(self) -> bool:
        return not self._regression and self.multiclass == "multiclass"

    def _uses_sklearn(self) -> bool:
        return self.backend != "numpy" and not self._crammer()

    # -- state -----------------------------------------------------------------------
    def _init_state(self, d: int) -> None:
        self.t_ = 1.0
        if self._regression:
            self.coef_, self.intercept_ = np.zeros(d), np.zeros(1)
        else:
            self.coef_, self.intercept_ = np.zeros((0, d)), np.zeros(0)

    def _grow(self, old: int, new: int) -> None:
        if self._crammer():
            pad = new - old
            self.coef_ = np.vstack([self.coef_, np.zeros((pad, self.coef_.shape[1]))])
            self.intercept_ = np.concatenate([self.intercept_, np.zeros(pad)])
            return
        src, sign = ovr_growth(old, new)
        self.coef_ = grow_rows(self.coef_, src, sign, 0.0)
        self.intercept_ = grow_rows(self.intercept_, src, sign, 0.0)

    # -- learning --------------------------------------------------------------------
    def _learn(self, X: np.ndarray, y: np.ndarray) -> None:
        if self.fit_intercept:
            X = np.hstack([X, np.ones((X.shape[0], 1))])
        if not self.fit_intercept:
            W = self.coef_.copy()
        elif self._regression:
            W = np.concatenate([self.coef_, self.intercept_])
        else:
            W = np.hstack([self.coef_, self.intercept_[:, None]])
        sq = np.einsum("ij,ij->i", X, X)
        if self._crammer():
            changed = self._learn_multiclass(X, y, sq, W)
        elif self._uses_sklearn():
            changed = int(self._active(X, y, sq, W).sum())
            W = self._learn_sklearn(X, y, W)
        elif self._regression:
            changed = self._learn_regression(X, y, sq, W)
        else:
            changed = self._learn_ovr(X, ovr_targets(y, len(self.classes_)), sq, W)
        self.n_updates_ += changed
        if self._regression:
            self.coef_ = W[: self.n_features_in_].copy()
            self.intercept_ = W[self.n_features_in_ :].copy() if self.fit_intercept else np.zeros(1)
        else:
            self.coef_ = np.ascontiguousarray(W[:, : self.n_features_in_])
            self.intercept_ = (
                W[:, self.n_features_in_].copy() if self.fit_intercept else np.zeros(W.shape[0])
            )

    def _active(self, X: np.ndarray, y: np.ndarray, sq: np.ndarray, W: np.ndarray) -> np.ndarray:
        """Rows with a positive loss under the weights ``W`` (augmented rows)."""
        if self._regression:
            active = np.abs(y - X @ W) > self.epsilon
        else:
            active = (ovr_targets(y, len(self.classes_)) * (X @ W.T) < 1.0).any(axis=1)
        return active if self.variant == "PA-II" else active & (sq > 0)

    def _learn_sklearn(self, X: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
        if getattr(self, "_sk", None) is None:
            rate = "pa2" if self.variant == "PA-II" else "pa1"
            eta0 = sys.float_info.max if self.variant == "PA" else min(self.C, sys.float_info.max)
            common = dict(
                penalty=None, learning_rate=rate, eta0=eta0, fit_intercept=False, shuffle=False
            )
            from sklearn.linear_model import SGDClassifier, SGDRegressor

            self._sk = (
                SGDRegressor(loss="epsilon_insensitive", epsilon=self.epsilon, **common)
                if self._regression
                else SGDClassifier(loss="hinge", **common)
            )
        regression = self._regression
        intercept = np.zeros(1 if regression else W.shape[0])
        W, _, self.t_ = sgd_partial_fit(
            self._sk, X, y, W, intercept, self.t_, None if regression else len(self.classes_)
        )
        return W

    def _learn_ovr(self, X: np.ndarray, Y: np.ndarray, sq: np.ndarray, W: np.ndarray) -> int:
        variant, C = self.variant, float(self.C)

        def scan(i: int, j: int) -> np.ndarray:
            active = (Y[i:j] * (X[i:j] @ W.T) < 1.0).any(axis=1)
            return active if variant == "PA-II" else active & (sq[i:j] > 0)

        def update(i: int) -> bool:
            x, yi = X[i], Y[i]
            tau = pa_step(np.maximum(0.0, 1.0 - yi * (W @ x)), sq[i], variant, C) * yi
            if not tau.any():
                return False
            W[...] += tau[:, None] * x
            return True

        return run_sequential(X.shape[0], scan, update)

    def _learn_regression(self, X: np.ndarray, y: np.ndarray, sq: np.ndarray, w: np.ndarray) -> int:
        variant, C, eps = self.variant, float(self.C), self.epsilon

        def scan(i: int, j: int) -> np.ndarray:
            active = np.abs(y[i:j] - X[i:j] @ w) > eps
            return active if variant == "PA-II" else active & (sq[i:j] > 0)

        def update(i: int) -> bool:
            resid = y[i] - X[i] @ w
            loss = np.array(max(0.0, abs(resid) - eps))
            tau = float(pa_step(loss, sq[i], variant, C))
            if tau == 0.0:
                return False
            w[...] += (tau if resid >= 0 else -tau) * X[i]
            return True

        return run_sequential(X.shape[0], scan, update)

    def _learn_multiclass(self, X: np.ndarray, y: np.ndarray, sq: np.ndarray, W: np.ndarray) -> int:
        if W.shape[0] < 2:
            return 0
        variant, C = self.variant, float(self.C)
        rows = np.arange(X.shape[0])

        def scan(i: int, j: int) -> np.ndarray:
            scores = X[i:j] @ W.T
            true = scores[rows[: j - i], y[i:j]]
            scores[rows[: j - i], y[i:j]] = -np.inf
            active = 1.0 - true + scores.max(axis=1) > 0
            return active if variant == "PA-II" else active & (sq[i:j] > 0)

        def update(i: int) -> bool:
            x, t = X[i], y[i]
            scores = W @ x
            true, scores[t] = scores[t], -np.inf
            r = int(scores.argmax())
            loss = np.array(max(0.0, 1.0 - true + scores[r]))
            tau = float(pa_step(loss, 2.0 * sq[i], variant, C))
            if tau == 0.0:
                return False
            W[t] += tau * x
            W[r] -= tau * x
            return True

        return run_sequential(X.shape[0], scan, update)

    # -- prediction ------------------------------------------------------------------
    def _scores(self, X: np.ndarray) -> np.ndarray:
        return X @ self.coef_.T + self.intercept_

    def _predict(self, X: np.ndarray) -> np.ndarray:
        if self._regression:
            return X @ self.coef_ + self.intercept_[0]
        if self._crammer():
            return self.classes_[self._scores(X).argmax(axis=1)]
        return ovr_predict(self._scores(X), self.classes_)

    def _decision(self, X: np.ndarray) -> np.ndarray:
        scores = self._scores(X)
        if self._crammer() and len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return ovr_decision(scores, len(self.classes_))


class PassiveAggressive(Classifier, _PassiveAggressiveBase):
    """Passive-Aggressive classifier (binary, one-vs-rest or the multiclass PA of the paper).

    Parameters
    ----------
    C : float
        Aggressiveness of ``PA-I`` / ``PA-II`` (ignored by ``PA``).
    variant : {"PA-I", "PA", "PA-II"}
        Step rule (module docstring).
    fit_intercept : bool
        Learn an intercept.
    multiclass : {"ovr", "multiclass"}
        One-vs-rest binary PA per class (scikit-learn kernel) or the single multiclass PA
        of the paper (NumPy).
    backend : {"auto", "sklearn", "numpy"}
        ``"auto"`` runs scikit-learn's Cython loop where it has the algorithm (everything
        but ``multiclass="multiclass"``); ``"numpy"`` forces the reference loop.
    seed : int or None
        Unused (PA is deterministic); accepted so every learner takes a seed.

    Attributes
    ----------
    classes_ : ndarray
        Labels in order of first appearance (classification).
    coef_ : ndarray
        ``(1, d)`` for one or two classes, ``(K, d)`` for more (one-vs-rest) or always
        ``(K, d)`` (multiclass).
    intercept_ : ndarray
        One per row of ``coef_``.
    n_updates_ : int
        Rows with a positive loss. Exact with the NumPy loop; with the scikit-learn kernel,
        which does not report per-row updates, it counts rows whose loss was positive
        under the weights the batch started from (an estimate).

    Notes
    -----
    New classes follow the one-vs-rest growth rules of :mod:`~streamlearn.ml.learners.base`;
    in multiclass mode a new class starts at zero and a lone class learns nothing (there
    is no wrong class to separate it from).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]] * 5)
    >>> model = PassiveAggressive().learn_batch(X, np.array(["a", "b", "c"] * 5))
    >>> model.predict_batch(np.array([[2.0, 0.0], [-2.0, -2.0]])).tolist()
    ['a', 'c']
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        variant: str = "PA-I",
        fit_intercept: bool = True,
        multiclass: str = "ovr",
        backend: str = "auto",
        seed: int | None = None,
        **removed: Any,
    ) -> None:
        if "task" in removed or "epsilon" in removed:
            raise ConfigError(
                "PassiveAggressive is the classifier; for regression use "
                "sl.ml.PassiveAggressiveRegressor(C=..., epsilon=...) "
                "(task='regression' was removed)"
            )
        if removed:
            raise TypeError(f"PassiveAggressive got unexpected arguments {sorted(removed)}")
        self.C = C
        self.variant = variant
        self.fit_intercept = fit_intercept
        self.multiclass = multiclass
        self.backend = backend
        self.seed = seed

    def tags(self) -> Tags:
        return replace(super().tags(), decision=True)

    def _validate_params(self) -> None:
        super()._validate_params()
        check_choice(self, "multiclass", self.multiclass, ("ovr", "multiclass"))
        if self.backend == "sklearn" and self._crammer():
            raise ConfigError(
                "PassiveAggressive: scikit-learn has no multiclass PA; "
                "use backend='auto' or 'numpy' with multiclass='multiclass'"
            )


class PassiveAggressiveRegressor(Regressor, _PassiveAggressiveBase):
    """Passive-Aggressive regression: the epsilon-insensitive loss of the paper.

    Parameters
    ----------
    C : float
        Aggressiveness of ``PA-I`` / ``PA-II`` (ignored by ``PA``).
    variant : {"PA-I", "PA", "PA-II"}
        Step rule (module docstring).
    epsilon : float
        Width of the insensitive band: errors up to ``epsilon`` leave the model as it is.
    fit_intercept : bool
        Learn an intercept.
    backend : {"auto", "sklearn", "numpy"}
        ``"auto"`` runs scikit-learn's Cython loop; ``"numpy"`` the reference loop.
    seed : int or None
        Unused (PA is deterministic); accepted so every learner takes a seed.

    Attributes
    ----------
    coef_ : ndarray of shape (d,)
    intercept_ : ndarray of shape (1,)
    n_updates_ : int
        Rows with a positive loss (an estimate with the scikit-learn kernel, see
        :class:`PassiveAggressive`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]] * 5)
    >>> reg = PassiveAggressiveRegressor(epsilon=0.0)
    >>> reg.learn_batch(X, X @ [2.0, -1.0]).predict_batch(np.array([[1.0, 1.0]])).round(2)
    array([1.])
    """

    _regression = True
    _state_arrays: ClassVar[tuple[str, ...]] = ("coef_", "intercept_")

    def __init__(
        self,
        *,
        C: float = 1.0,
        variant: str = "PA-I",
        epsilon: float = 0.1,
        fit_intercept: bool = True,
        backend: str = "auto",
        seed: int | None = None,
    ) -> None:
        self.C = C
        self.variant = variant
        self.epsilon = epsilon
        self.fit_intercept = fit_intercept
        self.backend = backend
        self.seed = seed

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self, "epsilon", self.epsilon, allow_zero=True)
