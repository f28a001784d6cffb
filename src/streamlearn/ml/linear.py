"""Passive-aggressive learning (Crammer et al., 2006), in NumPy.

Classification is one-vs-rest over a class set that grows when an unseen label
arrives (a new zero weight row): online multiclass streams cannot know every class up
front, and scikit-learn's ``partial_fit`` (whose SGD ``pa1``/``pa2`` learning rates
replace the deprecated PassiveAggressive estimators) cannot add classes after the first
call. Updates are per example, in row order, vectorised across classes.

Variants: ``"PA"`` (tau = loss / |x|²), ``"PA-I"`` (tau = min(C, loss / |x|²)),
``"PA-II"`` (tau = loss / (|x|² + 1 / 2C)). Regression uses the epsilon-insensitive loss.
"""

from __future__ import annotations

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.core.state import decode_state, encode_state
from streamlearn.ml.learner import Learner, clean_rows

VARIANTS = ("PA", "PA-I", "PA-II")


def _tau(loss: np.ndarray, sq: float, C: float, variant: str) -> np.ndarray:
    if variant == "PA":
        return loss / sq
    if variant == "PA-I":
        return np.minimum(C, loss / sq)
    return loss / (sq + 1.0 / (2.0 * C))


class PassiveAggressive(Learner):
    """Passive-aggressive classifier (one-vs-rest) or regressor.

    Parameters
    ----------
    C
        Aggressiveness (PA-I, PA-II).
    variant
        ``"PA"``, ``"PA-I"`` or ``"PA-II"``.
    task
        ``"classification"`` or ``"regression"``.
    epsilon
        Insensitivity of the regression loss.
    fit_intercept
        Learn a bias (as a constant feature).
    multiclass
        ``"multiclass"``: Crammer's multiclass PA (the true class against the highest
        scoring wrong class); ``"ovr"``: one binary PA per class.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]] * 10); y = np.array(["a", "b"] * 10)
    >>> PassiveAggressive(C=1.0).learn_batch(X, y).predict_batch(X[:2]).tolist()
    ['a', 'b']
    """

    def __init__(self, *, C: float = 1.0, variant: str = "PA-I", task: str = "classification",
                 epsilon: float = 0.1, fit_intercept: bool = True,
                 multiclass: str = "multiclass") -> None:
        self.multiclass = multiclass
        self.C = C
        self.variant = variant
        self.task = task
        self.epsilon = epsilon
        self.fit_intercept = fit_intercept

    def _validate(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant must be one of {VARIANTS}, not {self.variant!r}")
        if self.task not in ("classification", "regression"):
            raise ConfigError("task must be 'classification' or 'regression'")
        if self.C <= 0:
            raise ConfigError("C must be > 0")
        if self.multiclass not in ("multiclass", "ovr"):
            raise ConfigError("multiclass must be 'multiclass' or 'ovr'")

    def _design(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.fit_intercept:
            X = np.hstack([X, np.ones((len(X), 1))])
        return X

    def learn_batch(self, X: np.ndarray, y: np.ndarray) -> PassiveAggressive:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if not len(X):
            return self
        if not hasattr(self, "w_"):
            self._validate()
            self.w_ = np.zeros((0 if self.task == "classification" else 1,
                                X.shape[1] + int(self.fit_intercept)))
            self.classes_ = np.array([], dtype=y.dtype)
            self.n_seen_ = 0
            self.n_updates_ = 0
        ok = clean_rows(X, y if self.task == "regression" else None)
        Z = self._design(X[ok])
        y = y[ok]
        if self.task == "regression":
            self._learn_regression(Z, y.astype(np.float64))
        else:
            self._learn_classes(Z, y)
        self.n_seen_ += len(Z)
        return self

    def _class_index(self, y: np.ndarray) -> np.ndarray:
        known = {c: i for i, c in enumerate(self.classes_.tolist())}
        for label in y.tolist():
            if label not in known:
                known[label] = len(known)
                self.classes_ = np.append(self.classes_, np.array([label]))
                self.w_ = np.vstack([self.w_, np.zeros((1, self.w_.shape[1]))])
        return np.array([known[label] for label in y.tolist()], dtype=np.int64)

    def _learn_classes(self, Z: np.ndarray, y: np.ndarray) -> None:
        idx = self._class_index(y)
        W = self.w_
        k = W.shape[0]
        C, variant = self.C, self.variant
        sqs = (Z * Z).sum(axis=1)
        if self.multiclass == "multiclass" and k > 2:
            self._learn_multiclass(Z, idx, sqs)
            return
        for z, c, sq in zip(Z, idx.tolist(), sqs.tolist(), strict=True):
            if sq == 0.0:
                continue
            sign = -np.ones(k)
            sign[c] = 1.0
            loss = np.maximum(0.0, 1.0 - sign * (W @ z))
            if not loss.any():
                continue
            W += (_tau(loss, sq, C, variant) * sign)[:, None] * z[None, :]
            self.n_updates_ += 1

    def _learn_multiclass(self, Z: np.ndarray, idx: np.ndarray, sqs: np.ndarray) -> None:
        """Crammer et al. 2006, section 7: update the true and the best wrong class."""
        W = self.w_
        C, variant = self.C, self.variant
        for z, c, sq in zip(Z, idx.tolist(), sqs.tolist(), strict=True):
            if sq == 0.0:
                continue
            s = W @ z
            s_true = s[c]
            s[c] = -np.inf
            r = int(s.argmax())
            loss = 1.0 - (s_true - s[r])
            if loss <= 0.0:
                continue
            tau = float(_tau(np.array(loss), 2.0 * sq, C, variant))
            W[c] += tau * z
            W[r] -= tau * z
            self.n_updates_ += 1

    def _learn_regression(self, Z: np.ndarray, y: np.ndarray) -> None:
        w = self.w_[0]
        C, variant, eps = self.C, self.variant, self.epsilon
        for z, target in zip(Z, y.tolist(), strict=True):
            sq = float(z @ z)
            err = target - float(w @ z)
            loss = abs(err) - eps
            if loss <= 0.0 or sq == 0.0:
                continue
            w += float(_tau(np.array(loss), sq, C, variant)) * np.sign(err) * z
            self.n_updates_ += 1

    def decision_batch(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        Z = self._design(np.nan_to_num(np.asarray(X, dtype=np.float64)))
        return Z @ self.w_.T

    def predict_batch(self, X: np.ndarray) -> np.ndarray:
        scores = self.decision_batch(X)
        if self.task == "regression":
            return scores[:, 0]
        if scores.shape[1] == 0:
            raise ConfigError("no classes seen yet")
        return self.classes_[scores.argmax(axis=1)]

    def score_batch(self, X: np.ndarray) -> np.ndarray | None:
        if self.task == "regression":
            return None
        return self.decision_batch(X).max(axis=1)

    def snapshot(self) -> bytes:
        self._check_fitted()
        classes = self.classes_
        arrays = {"w": self.w_}
        if self.task == "classification":
            arrays["classes"] = classes
        return encode_state({"n_seen": self.n_seen_, "n_updates": self.n_updates_,
                             "params": self.get_params()}, arrays)

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        self.w_ = arrays["w"]
        self.classes_ = arrays.get("classes", np.array([]))
        self.n_seen_ = int(values["n_seen"])
        self.n_updates_ = int(values["n_updates"])
