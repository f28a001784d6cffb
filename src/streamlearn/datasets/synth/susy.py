"""A SUSY-like data set: 18 features, a binary label, and a Bayes accuracy known exactly.

The UCI SUSY set (signal vs background of a supersymmetric process; 8 "low-level"
kinematic features and 10 derived ones) has no known Bayes rate, so a test cannot say
how close a trained network got. This generator keeps its shape and difficulty (good
classifiers reach ~0.80 there) with a truth that can be computed:

* a latent ``u ~ N(±m/2, I)`` in 18 dimensions, the sign given by the label (equal
  priors), so the log-odds are ``m·u`` and the Bayes accuracy is ``Φ(|m|/2)``
  (:data:`SUSY_BAYES_ACCURACY`, 0.79);
* each feature is a strictly monotone function of one latent coordinate (``exp`` for
  momenta and masses, ``tanh`` for the cosine, the identity for angles), which changes
  nothing about the Bayes rate (an invertible map of the inputs) but makes the
  boundary curved in the features, as in the original, so a linear model falls short.

:func:`susy_posterior` gives the exact ``P(label=1 | features)``.

Examples
--------
>>> round(SUSY_BAYES_ACCURACY, 4)
0.79
>>> df = generate_susy_frame(20_000, seed=1)
>>> df.width, df["label"].mean() > 0.45
(20, True)
>>> p = susy_posterior(df.select(SUSY_FEATURES).to_numpy())
>>> abs(float(((p > 0.5) == df["label"].to_numpy()).mean()) - SUSY_BAYES_ACCURACY) < 0.015
True
"""

from __future__ import annotations

import io
from statistics import NormalDist

import numpy as np
import polars as pl

__all__ = [
    "SUSY_BAYES_ACCURACY",
    "SUSY_FEATURES",
    "SUSY_SCHEMA",
    "generate_susy",
    "generate_susy_frame",
    "susy_posterior",
]

#: the 18 feature names of the UCI SUSY set, in its order
SUSY_FEATURES = (
    "lepton_1_pt",
    "lepton_1_eta",
    "lepton_1_phi",
    "lepton_2_pt",
    "lepton_2_eta",
    "lepton_2_phi",
    "missing_energy",
    "missing_energy_phi",
    "met_rel",
    "axial_met",
    "m_r",
    "m_tr_2",
    "r",
    "mt2",
    "s_r",
    "m_delta_r",
    "dphi_r_b",
    "cos_theta_r1",
)
#: the record schema, as ``sl.decode.json`` takes it
SUSY_SCHEMA = {"id": "int", "label": "int", **dict.fromkeys(SUSY_FEATURES, "float")}

_TARGET = 0.79
#: how much each latent coordinate separates the classes (relative; angles carry
#: nothing, as in SUSY), scaled so that the Bayes accuracy is exactly _TARGET
_WEIGHTS = np.array(
    [1.0, 0.3, 0.0, 0.9, 0.3, 0.0, 1.2, 0.0, 0.8, 0.6, 0.9, 1.0, 0.5, 0.7, 0.8, 0.6, 0.4, 0.3]
)
_SHIFT = _WEIGHTS * (2 * NormalDist().inv_cdf(_TARGET) / np.linalg.norm(_WEIGHTS))
#: the exact Bayes accuracy: Φ(|m| / 2)
SUSY_BAYES_ACCURACY = NormalDist().cdf(float(np.linalg.norm(_SHIFT)) / 2)
# per-feature monotone maps: 0 identity, 1 exp (positive, skewed), 2 tanh (in (-1, 1))
_KIND = np.array([1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 2])
_SCALE = 0.5


def _to_features(u: np.ndarray) -> np.ndarray:
    x = u.copy()
    pos = _KIND == 1
    x[:, pos] = np.exp(_SCALE * u[:, pos])
    x[:, _KIND == 2] = np.tanh(_SCALE * u[:, _KIND == 2])
    return x


def _to_latent(x: np.ndarray) -> np.ndarray:
    u = np.asarray(x, dtype=np.float64).copy()
    pos = _KIND == 1
    u[:, pos] = np.log(u[:, pos]) / _SCALE
    u[:, _KIND == 2] = np.arctanh(np.clip(u[:, _KIND == 2], -1 + 1e-15, 1 - 1e-15)) / _SCALE
    return u


def susy_posterior(features: np.ndarray) -> np.ndarray:
    """The exact ``P(label=1 | x)`` for rows of the 18 features (in
    :data:`SUSY_FEATURES` order): the logistic of the latent log-odds ``m·u``."""
    z = _to_latent(features) @ _SHIFT
    return 1.0 / (1.0 + np.exp(-z))


def generate_susy_frame(n: int, *, seed: int = 0, first_id: int = 0) -> pl.DataFrame:
    """``n`` rows: ``id``, ``label`` (0/1, equal priors), then the 18 features."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    u = rng.standard_normal((n, len(SUSY_FEATURES))) + np.where(label[:, None] == 1, 0.5, -0.5) * (
        _SHIFT
    )
    x = _to_features(u)
    cols = {"id": np.arange(first_id, first_id + n), "label": label}
    # six decimals: records a third shorter; moves P(label | x) by ~1e-6 at most
    cols.update({name: np.round(x[:, i], 6) for i, name in enumerate(SUSY_FEATURES)})
    return pl.DataFrame(cols)


def generate_susy(n: int, *, seed: int = 0, first_id: int = 0) -> list[bytes]:
    """``n`` JSON records (see :func:`generate_susy_frame`), one per message value.

    Examples
    --------
    >>> import json
    >>> sorted(json.loads(generate_susy(1)[0]))[:3]
    ['axial_met', 'cos_theta_r1', 'dphi_r_b']
    """
    df = generate_susy_frame(n, seed=seed, first_id=first_id)
    buf = io.BytesIO()
    df.write_ndjson(buf)
    lines = buf.getvalue().split(b"\n")
    return lines[:-1] if lines and not lines[-1] else lines
