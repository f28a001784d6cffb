"""The elbow method: the k-means cost for a range of k, and the k at the bend.

The cost (inertia: the sum of squared distances to the nearest centre) falls as k grows;
past the true number of groups it falls slowly. :func:`knee` picks the k farthest below
the chord from the first to the last point of the curve, both axes scaled to 0..1 (the
"kneedle" rule of Satopää et al., 2011, without smoothing), with the cost on a log
scale: the bend is where the *relative* gain of one more cluster collapses. On the
linear scale the first big drop (k = 2 to 3) dominates, and the rule's answer moved with
the range of k (on the S2 data it said 3 or 4 for k = 2..9 and 6 for k = 2..19); on the
log scale it says 6 for both. No threshold to tune.

Rows that repeat (a temperature is one of 31 integers) are clustered once, weighted by
their count (``sample_weight``): the same objective and the same centres as on the full
data, at the cost of the distinct rows only.

Examples
--------
>>> import numpy as np
>>> x = np.repeat([10.0, 20.0, 30.0], 100) + np.tile([-1.0, 0.0, 1.0], 100)
>>> costs = elbow_costs(x[:, None], range(2, 8), seed=0)
>>> knee(list(costs), list(costs.values()))
3
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError

#: the k the elbow curve covers by default (the scenario's 2..19)
DEFAULT_KS = tuple(range(2, 20))
#: below this many distinct rows, cluster the distinct rows weighted by their count
_DISTINCT_LIMIT = 100_000

__all__ = ["DEFAULT_KS", "distinct_rows", "elbow_costs", "fit_kmeans", "knee"]


def distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(rows, weights)``: the distinct rows and their counts when there are few of them,
    else the rows themselves and None."""
    values, counts = np.unique(X, axis=0, return_counts=True)
    if len(values) <= _DISTINCT_LIMIT and len(values) < len(X):
        return values, counts.astype(np.float64)
    return X, None


def fit_kmeans(
    X: np.ndarray, k: int, *, seed: int = 0, n_init: int = 4, weights: np.ndarray | None = None
) -> Any:
    """A fitted scikit-learn ``KMeans`` whose labels are ordered by centre (label 0 has
    the smallest centre, compared by the first feature, then the next...), so the same
    data gives the same labels whatever the initialisation."""
    from sklearn.cluster import KMeans

    if k < 1 or k > len(X):
        raise ConfigError(f"k={k}: needs 1 <= k <= the number of distinct values ({len(X)})")
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X, sample_weight=weights)
    order = np.lexsort(km.cluster_centers_.T[::-1])
    km.cluster_centers_ = km.cluster_centers_[order]
    km.labels_ = np.argsort(order)[km.labels_].astype(np.int32)
    return km


def elbow_costs(
    X: np.ndarray,
    ks: Iterable[int] = DEFAULT_KS,
    *,
    seed: int = 0,
    on_step: Callable[[int], None] | None = None,
) -> dict[int, float]:
    """``{k: k-means cost}`` for each ``k`` (``on_step(k)`` after each fit, for progress
    bars). Values of ``k`` above the number of distinct rows are left out."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ConfigError("the elbow curve needs a non-empty 2-D array (rows x features)")
    rows, weights = distinct_rows(X)
    costs: dict[int, float] = {}
    for k in ks:
        if k <= len(rows):
            costs[int(k)] = float(fit_kmeans(rows, int(k), seed=seed, weights=weights).inertia_)
        if on_step is not None:
            on_step(int(k))
    return costs


def knee(ks: Sequence[int], costs: Sequence[float]) -> int:
    """The ``k`` at the bend of a falling cost curve: farthest below its chord, with
    k and the log of the cost scaled to 0..1.

    >>> knee([2, 3, 4, 5, 6], [100.0, 10.0, 8.0, 7.0, 6.5])
    3
    >>> knee([2, 3], [5.0, 1.0])
    2
    """
    if len(ks) != len(costs) or not ks:
        raise ConfigError("knee() needs as many costs as k values, at least one")
    if len(ks) < 3:
        return int(ks[0])
    x = np.asarray(ks, dtype=np.float64)
    y = np.asarray(costs, dtype=np.float64)
    if not np.isfinite(y).all() or (y < 0).any():
        raise ConfigError("knee() needs finite costs >= 0")
    y = np.log(np.maximum(y, y.max() * 1e-9 + 1e-300))  # a cost of 0 stays finite
    span = y.max() - y.min()
    if span <= 0:
        return int(ks[0])
    xn = (x - x[0]) / (x[-1] - x[0])
    yn = (y - y.min()) / span
    chord = yn[0] + (yn[-1] - yn[0]) * xn
    return int(ks[int(np.argmax(chord - yn))])
