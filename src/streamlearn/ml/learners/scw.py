"""Soft Confidence-Weighted learning (Wang, Zhao, Hoi, "Exact Soft Confidence-Weighted
Learning", ICML 2012).

The model is a Gaussian over weight vectors, ``w ~ N(mu, Sigma)``. For a row ``x`` with
label ``y = ±1``, ``m = y mu·x`` and ``v = xᵀ Sigma x``; with ``phi = Φ⁻¹(eta)``,
``psi = 1 + phi²/2`` and ``zeta = 1 + phi²``, the loss is ``max(0, phi sqrt(v) - m)`` and,
when it is positive::

    SCW-I   alpha = min(C, max(0, (-m psi + sqrt(m² phi⁴/4 + v phi² zeta)) / (v zeta)))
    SCW-II  n = v + 1/(2C),  gamma = phi sqrt(phi² m² v² + 4 n v (n + v phi²))
            alpha = max(0, (-(2 m n + phi² m v) + gamma) / (2 (n² + n v phi²)))
    u     = (-alpha v phi + sqrt(alpha² v² phi² + 4 v))² / 4
    beta  = alpha phi / (sqrt(u) + v alpha phi)
    mu    += alpha y Sigma x
    Sigma -= beta (Sigma x)(Sigma x)ᵀ

The intercept is a constant feature 1 appended to ``x`` (so it has a variance too).
Multiclass is one-vs-rest with the layout of :mod:`~streamlearn.ml.learners.base`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.ml.base import Classifier, Tags
from streamlearn.ml.learners._ovr import (
    grow_rows,
    ovr_decision,
    ovr_growth,
    ovr_predict,
    ovr_proba,
    ovr_targets,
)
from streamlearn.ml.learners._sequential import run_sequential
from streamlearn.ml.learners._validation import check_choice, check_positive
from streamlearn.ml.learners.base import Learner

try:
    from scipy.special import ndtr, ndtri
except ImportError:  # pragma: no cover - scipy comes with scikit-learn
    from math import erf
    from statistics import NormalDist

    ndtri = NormalDist().inv_cdf
    _erf = np.frompyfunc(erf, 1, 1)

    def ndtr(z: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + _erf(np.asarray(z) / np.sqrt(2.0)).astype(np.float64))


class SoftConfidenceWeighted(Classifier, Learner):
    """Soft Confidence-Weighted classifier (SCW-I / SCW-II), binary or one-vs-rest.

    Parameters
    ----------
    C : float
        Aggressiveness (bound on ``alpha`` for SCW-I, soft penalty for SCW-II).
    eta : float
        Confidence level, ``0.5 < eta < 1``; ``phi = Φ⁻¹(eta)``.
    variant : {"SCW-I", "SCW-II"}
    a : float
        Initial variance: ``Sigma`` starts at ``a I``.
    diagonal : bool
        Keep only the diagonal of ``Sigma`` (``d`` numbers per class instead of ``d²``):
        the same formulas with ``Sigma x`` taken as ``diag(Sigma) * x``, an approximation
        the paper does not cover, for wide ``X``.
    fit_intercept : bool
        Append a constant feature 1.
    seed : int or None
        Unused (SCW is deterministic); accepted so every learner takes a seed.

    Attributes
    ----------
    classes_ : ndarray
        Labels in order of first appearance.
    mu_ : ndarray of shape (rows, d [+1])
        Mean weights, one row per one-vs-rest problem (intercept last).
    sigma_ : ndarray of shape (rows, d [+1], d [+1]) or (rows, d [+1]) when diagonal
        Covariances.
    n_updates_ : int
        Rows with a positive loss for at least one class (exact).

    Notes
    -----
    ``predict_proba_batch`` is the probability that a weight vector drawn from the model
    puts ``x`` on the positive side, ``Φ(mu·x / sqrt(xᵀ Sigma x))`` (normalised across
    classes for one-vs-rest): it reflects the model's confidence, it is not calibrated.
    Rows are learned one by one; rows that would not change the model are skipped in
    vectorised blocks, so learning is fast once the model is good.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.2], [-1.0, 0.1], [0.9, -0.3], [-1.2, 0.0]] * 10)
    >>> model = SoftConfidenceWeighted().learn_batch(X, np.array([1, -1, 1, -1] * 10))
    >>> model.predict_batch(np.array([[2.0, 0.0], [-2.0, 0.0]])).tolist()
    [1, -1]
    """

    _state_arrays = ("classes_", "mu_", "sigma_")

    def tags(self) -> Tags:
        return replace(super().tags(), decision=True, proba=True)

    def __init__(
        self,
        *,
        C: float = 1.0,
        eta: float = 0.95,
        variant: str = "SCW-I",
        a: float = 1.0,
        diagonal: bool = False,
        fit_intercept: bool = True,
        seed: int | None = None,
    ) -> None:
        self.C = C
        self.eta = eta
        self.variant = variant
        self.a = a
        self.diagonal = diagonal
        self.fit_intercept = fit_intercept
        self.seed = seed

    def _validate_params(self) -> None:
        check_choice(self, "variant", self.variant, ("SCW-I", "SCW-II"))
        check_positive(self, "C", self.C)
        check_positive(self, "a", self.a)
        if not (isinstance(self.eta, (int, float)) and 0.5 < self.eta < 1.0):
            raise ConfigError(f"SoftConfidenceWeighted: eta must be in (0.5, 1); got {self.eta}")

    # -- state -----------------------------------------------------------------------
    def _init_state(self, d: int) -> None:
        width = d + int(bool(self.fit_intercept))
        self.mu_ = np.zeros((0, width))
        self.sigma_ = np.zeros((0, width) if self.diagonal else (0, width, width))

    def _grow(self, old: int, new: int) -> None:
        src, sign = ovr_growth(old, new)
        width = self.mu_.shape[1]
        fresh = np.full(width, float(self.a)) if self.diagonal else self.a * np.eye(width)
        self.mu_ = grow_rows(self.mu_, src, sign, 0.0)
        self.sigma_ = grow_rows(self.sigma_, src, None, fresh)

    def _augment(self, X: np.ndarray) -> np.ndarray:
        return np.hstack([X, np.ones((X.shape[0], 1))]) if self.fit_intercept else X

    def _variances(self, Xa: np.ndarray) -> np.ndarray:
        """``xᵀ Sigma x`` for every row and class, shape ``(n, rows)``."""
        if self.diagonal:
            return (Xa * Xa) @ self.sigma_.T
        return np.einsum("rnd,nd->nr", Xa @ self.sigma_, Xa)

    def _alpha(self, m: np.ndarray, v: np.ndarray) -> np.ndarray:
        phi = float(ndtri(self.eta))
        psi, zeta, C = 1.0 + phi**2 / 2.0, 1.0 + phi**2, float(self.C)
        if self.variant == "SCW-I":
            raw = (-m * psi + np.sqrt(m**2 * phi**4 / 4.0 + v * phi**2 * zeta)) / (v * zeta)
            return np.minimum(C, np.maximum(0.0, raw))
        n = v + 1.0 / (2.0 * C)
        gamma = phi * np.sqrt(phi**2 * m**2 * v**2 + 4.0 * n * v * (n + v * phi**2))
        return np.maximum(
            0.0, (-(2.0 * m * n + phi**2 * m * v) + gamma) / (2.0 * (n**2 + n * v * phi**2))
        )

    # -- learning --------------------------------------------------------------------
    def _learn(self, X: np.ndarray, y: np.ndarray) -> None:
        Xa = self._augment(X)
        Y = ovr_targets(y, len(self.classes_))
        mu, sigma, diagonal = self.mu_, self.sigma_, self.diagonal
        phi = float(ndtri(self.eta))

        def scan(i: int, j: int) -> np.ndarray:
            m = Y[i:j] * (Xa[i:j] @ mu.T)
            v = self._variances(Xa[i:j])
            return (phi * np.sqrt(np.maximum(v, 0.0)) - m > 0).any(axis=1)

        def update(i: int) -> bool:
            x, yi = Xa[i], Y[i]
            sx = sigma * x if diagonal else sigma @ x
            v = sx @ x
            m = yi * (mu @ x)
            act = np.flatnonzero((phi * np.sqrt(np.maximum(v, 0.0)) - m > 0) & (v > 0))
            if act.size == 0:
                return False
            va, ma = v[act], m[act]
            alpha = self._alpha(ma, va)
            keep = alpha > 0
            if not keep.any():
                return False
            act, va, alpha = act[keep], va[keep], alpha[keep]
            u = 0.25 * (-alpha * va * phi + np.sqrt(alpha**2 * va**2 * phi**2 + 4.0 * va)) ** 2
            beta = alpha * phi / (np.sqrt(u) + va * alpha * phi)
            s = sx[act]
            mu[act] += (alpha * yi[act])[:, None] * s
            if diagonal:
                sigma[act] -= beta[:, None] * s * s
            else:
                sigma[act] -= beta[:, None, None] * (s[:, :, None] * s[:, None, :])
            return True

        self.n_updates_ += run_sequential(X.shape[0], scan, update)

    # -- prediction ------------------------------------------------------------------
    def _predict(self, X: np.ndarray) -> np.ndarray:
        return ovr_predict(self._augment(X) @ self.mu_.T, self.classes_)

    def _decision(self, X: np.ndarray) -> np.ndarray:
        return ovr_decision(self._augment(X) @ self.mu_.T, len(self.classes_))

    def _proba(self, X: np.ndarray) -> np.ndarray:
        Xa = self._augment(X)
        m, v = Xa @ self.mu_.T, np.maximum(self._variances(Xa), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = m / np.sqrt(v)
        z = np.where(np.isnan(z), 0.0, z)
        return ovr_proba(ndtr(z), len(self.classes_))
