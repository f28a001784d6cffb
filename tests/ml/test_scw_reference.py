"""SCW against a per-example reference written directly from Wang, Zhao & Hoi (ICML 2012)."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from streamlearn.ml.learners import SoftConfidenceWeighted


def scw_reference(X, y, *, C, eta, variant, a=1.0):
    """Algorithm 1 of the paper, one example at a time, labels ±1, no intercept."""
    phi = NormalDist().inv_cdf(eta)
    psi = 1 + phi**2 / 2
    zeta = 1 + phi**2
    d = X.shape[1]
    mu = np.zeros(d)
    sigma = a * np.eye(d)
    for x, label in zip(X, y, strict=True):
        v = float(x @ sigma @ x)
        m = float(label * (mu @ x))
        loss = max(0.0, phi * math.sqrt(v) - m)
        if loss <= 0:
            continue
        if variant == "SCW-I":
            alpha = min(
                C,
                max(
                    0.0, (-m * psi + math.sqrt(m**2 * phi**4 / 4 + v * phi**2 * zeta)) / (v * zeta)
                ),
            )
        else:
            n = v + 1 / (2 * C)
            gamma = phi * math.sqrt(phi**2 * m**2 * v**2 + 4 * n * v * (n + v * phi**2))
            alpha = max(
                0.0, (-(2 * m * n + phi**2 * m * v) + gamma) / (2 * (n**2 + n * v * phi**2))
            )
        u = 0.25 * (-alpha * v * phi + math.sqrt(alpha**2 * v**2 * phi**2 + 4 * v)) ** 2
        beta = alpha * phi / (math.sqrt(u) + v * alpha * phi)
        sx = sigma @ x
        mu = mu + alpha * label * sx
        sigma = sigma - beta * np.outer(sx, sx)
    return mu, sigma


def _data(n=300, d=5, seed=0, flip=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + 0.3 > 0, 1, -1)
    y[rng.random(n) < flip] *= -1
    return X, y


@pytest.mark.parametrize("variant", ["SCW-I", "SCW-II"])
@pytest.mark.parametrize("C, eta", [(1.0, 0.95), (0.1, 0.75), (5.0, 0.99)])
def test_binary_matches_reference(variant, C, eta):
    X, y = _data()
    model = SoftConfidenceWeighted(C=C, eta=eta, variant=variant, fit_intercept=False)
    for part in np.array_split(np.arange(len(y)), 7):
        model.learn_batch(X[part], y[part])
    mu, sigma = scw_reference(X, y, C=C, eta=eta, variant=variant)
    sign = 1.0 if model.classes_[1] == 1 else -1.0  # the row scores classes_[1]
    np.testing.assert_allclose(sign * model.mu_[0], mu, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.sigma_[0], sigma, rtol=0, atol=1e-10)


def test_intercept_is_a_constant_feature():
    X, y = _data(seed=3)
    model = SoftConfidenceWeighted(variant="SCW-II").learn_batch(X, y)
    mu, sigma = scw_reference(
        np.hstack([X, np.ones((len(X), 1))]), y, C=1.0, eta=0.95, variant="SCW-II"
    )
    sign = 1.0 if model.classes_[1] == 1 else -1.0
    np.testing.assert_allclose(sign * model.mu_[0], mu, atol=1e-10)
    np.testing.assert_allclose(model.sigma_[0], sigma, atol=1e-10)


def test_one_vs_rest_matches_reference_per_class():
    """Classes 0 and 1 learn from the first row; a later class from its first row on."""
    rng = np.random.default_rng(1)
    centers = np.array([[2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0]])
    labels = rng.integers(0, 3, 400)
    X = centers[labels] + rng.normal(size=(400, 3))
    model = SoftConfidenceWeighted(fit_intercept=False).learn_batch(X, labels)
    for k, label in enumerate(model.classes_.tolist()):
        start = 0 if k < 2 else int(np.argmax(labels == label))
        mu, sigma = scw_reference(
            X[start:], np.where(labels[start:] == label, 1, -1), C=1.0, eta=0.95, variant="SCW-I"
        )
        np.testing.assert_allclose(model.mu_[k], mu, atol=1e-10)
        np.testing.assert_allclose(model.sigma_[k], sigma, atol=1e-10)


def test_diagonal_equals_full_in_one_dimension():
    X, y = _data(d=1)
    full = SoftConfidenceWeighted(fit_intercept=False).learn_batch(X, y)
    diag = SoftConfidenceWeighted(fit_intercept=False, diagonal=True).learn_batch(X, y)
    np.testing.assert_allclose(full.mu_, diag.mu_, atol=1e-12)
    np.testing.assert_allclose(full.sigma_[:, :, 0], diag.sigma_, atol=1e-12)


@pytest.mark.parametrize("variant", ["SCW-I", "SCW-II"])
def test_accuracy_on_separable_ish_data(variant):
    """A linear concept with a small margin (|w·x + b| > 0.2) and 1% flipped labels."""
    rng = np.random.default_rng(5)
    w = rng.normal(size=10)
    w /= np.linalg.norm(w)
    X = rng.normal(size=(12000, 10))
    X = X[np.abs(X @ w + 0.3) > 0.2][:4000]
    y = np.where(X @ w + 0.3 > 0, 1, -1)
    y[rng.random(len(y)) < 0.01] *= -1
    model = SoftConfidenceWeighted(variant=variant)
    hits = 0
    for start in range(0, 3000, 50):
        xb, yb = X[start : start + 50], y[start : start + 50]
        if start:
            hits += int((model.predict_batch(xb) == yb).sum())
        model.learn_batch(xb, yb)
    prequential = hits / 2950
    held_out = float((model.predict_batch(X[3000:]) == y[3000:]).mean())
    print(
        f"{variant}: prequential accuracy {prequential:.3f}, held-out {held_out:.3f} "
        "(1% label noise)"
    )
    assert prequential >= 0.95 and held_out >= 0.95
