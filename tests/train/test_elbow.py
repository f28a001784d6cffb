"""The elbow curve and its bend; k-means labels ordered by centre."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

import streamlearn as sl
from streamlearn.datasets.synth import REGIME_LEVELS, generate_temperature_frame
from streamlearn.train.elbow import distinct_rows, elbow_costs, fit_kmeans, knee


def temperatures(n: int, seed: int) -> np.ndarray:
    return generate_temperature_frame(n, seed=seed)["Temperature"].to_numpy()[:, None] * 1.0


def test_costs_fall_with_k_and_equal_kmeans_on_all_rows():
    from sklearn.cluster import KMeans

    X = temperatures(20_000, seed=1)
    costs = elbow_costs(X, range(2, 12))
    values = list(costs.values())
    assert list(costs) == list(range(2, 12))
    assert all(a > b for a, b in pairwise(values))
    # distinct rows weighted by count: the cost k-means reaches on every row
    full = KMeans(n_clusters=6, n_init=4, random_state=0).fit(X).inertia_
    assert costs[6] == pytest.approx(full, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ks", [range(2, 10), range(2, 20), range(2, 31)])
def test_the_bend_is_the_true_number_of_regimes_whatever_the_range(seed, ks):
    costs = elbow_costs(temperatures(30_000, seed), ks)
    assert knee(list(costs), list(costs.values())) == len(REGIME_LEVELS)


def test_the_bend_of_two_dimensional_clusters():
    X = sl.datasets.synth.generate_trades_frame(10_000, seed=2).select("bid", "ask").to_numpy()
    costs = elbow_costs(X, range(2, 15))
    assert knee(list(costs), list(costs.values())) == 3


def test_knee_edge_cases():
    assert knee([2, 3], [5.0, 1.0]) == 2
    assert knee([2, 3, 4], [1.0, 1.0, 1.0]) == 2  # flat: no bend, the smallest k
    # a cost of 0 (k = the number of distinct rows) stays finite: the bend is where it is hit
    assert knee([2, 3, 4, 5], [10.0, 1.0, 0.0, 0.0]) == 4
    with pytest.raises(sl.ConfigError, match="as many costs"):
        knee([2, 3], [1.0])
    with pytest.raises(sl.ConfigError, match="finite"):
        knee([2, 3, 4], [1.0, float("nan"), 0.5])


def test_labels_are_ordered_by_centre_whatever_the_seed():
    rows, weights = distinct_rows(temperatures(10_000, seed=5))
    assert len(rows) <= 31 and weights is not None and weights.sum() == 10_000
    for seed in range(4):
        km = fit_kmeans(rows, 6, seed=seed, weights=weights)
        centres = km.cluster_centers_.ravel()
        assert (np.diff(centres) > 0).all()
        assert np.abs(centres - np.asarray(REGIME_LEVELS)).max() < 0.5
        assert (km.predict(rows) == km.labels_).all()
        assert km.predict([[42.0], [69.0]]).tolist() == [0, 5]


def test_too_large_k_is_a_config_error():
    with pytest.raises(sl.ConfigError, match="k=5"):
        fit_kmeans(np.array([[1.0], [2.0]]), 5)
    with pytest.raises(sl.ConfigError, match="2-D"):
        elbow_costs(np.array([1.0, 2.0]))
