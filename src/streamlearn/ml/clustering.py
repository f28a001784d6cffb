"""Sequential k-means, as in kdb Insights' ``ml.sequential_k_means``: the model.

The first ``buffer_size`` rows are buffered; k centroids are fitted on them (k-means++ or
random initialisation, then Lloyd iterations), and from then on every row is assigned to
its nearest centroid while the centroids keep learning: a running mean per centroid
(MacQueen), or, when ``forgetful``, an exponentially decayed mean with learning rate
``alpha`` so the model follows a drifting stream.

Vectorised, and independent of how the stream was cut into micro-batches
-------------------------------------------------------------------------
A strictly per-row update (assign, move, assign the next...) cannot be vectorised; a
per-batch update can, but then the result depends on batch boundaries, which differ
between runs (the Kafka reader takes what is available). So the centroids move after
every ``update_every`` rows (a *chunk*, counted from the end of the warm-up), and each
row is assigned with the centroids as they stood at the start of its chunk. The partial
sums of an unfinished chunk are state. Any cut of the same row sequence into batches --
online, offline, after a restart from a snapshot -- gives the same assignments and
centroids. ``update_every=1`` is the classic per-row algorithm.

The streaming operator is :class:`~streamlearn.ml.kmeans.KMeansOperator`
(``sl.ml.sequential_k_means``); this model knows nothing of records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError, NotFittedError, StateError
from streamlearn.core.state import decode_state, encode_state
from streamlearn.ml.base import Clusterer, Model

_DISTANCES = ("e2dist", "edist")
_INITS = ("k-means++", "random")


class SequentialKMeans(Clusterer, Model):
    """Online k-means on NumPy arrays: fit on the first rows, then assign and keep learning.

    Parameters
    ----------
    k : int
        Number of centroids.
    buffer_size : int
        Rows buffered before the first fit (kdb ``bufferSize``).
    distance : {"e2dist", "edist"}
        ``"e2dist"``: squared Euclidean; ``"edist"``: Euclidean. The metric of the
        distances reported (:meth:`learn_predict_batch`, the operator's ``distance``
        column) and the weighting of the k-means++ seeding (D² or D). Assignments are the
        same for both.
    forgetful : bool
        Exponentially decayed centroid updates with learning rate ``alpha`` instead of a
        running mean, to follow a drifting stream.
    alpha : float
        Learning rate of ``forgetful`` updates, 0 < alpha <= 1.
    centroids : array-like of shape (k, d), optional
        Initial centroids; skips the warm-up: rows are assigned from the first.
    init : {"k-means++", "random"}
        Seeding of the warm-up fit: k-means++ (D or D² weighted, see ``distance``) or k
        distinct rows drawn uniformly.
    seed : int or None
        Random seed of the fit (results are deterministic for a seed).
    update_every : int
        Rows per centroid update (module docstring).

    Attributes
    ----------
    centroids_ : ndarray of shape (k, d)
    counts_ : ndarray of shape (k,)
        Rows each centroid has absorbed (in finished chunks).
    n_seen_ : int
        Rows learned, the warm-up buffer included.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    >>> model = SequentialKMeans(k=2, buffer_size=20).learn_batch(rng.permutation(X))
    >>> np.sort(model.centroids_[:, 0]).round(0).tolist()
    [0.0, 5.0]
    >>> model.predict_batch(np.array([[0.1, 0.0], [4.9, 5.0]])).tolist() in ([0, 1], [1, 0])
    True
    """

    def __init__(
        self,
        *,
        k: int = 3,
        buffer_size: int = 1000,
        distance: str = "e2dist",
        forgetful: bool = False,
        alpha: float = 0.1,
        centroids: Sequence[Sequence[float]] | None = None,
        init: str = "k-means++",
        seed: int | None = 0,
        update_every: int = 1000,
    ) -> None:
        self.k = k
        self.buffer_size = buffer_size
        self.distance = distance
        self.forgetful = forgetful
        self.alpha = alpha
        self.centroids = centroids
        self.init = init
        self.seed = seed
        self.update_every = update_every

    def _validate_params(self, d: int | None = None) -> None:
        if self.k < 1 or self.buffer_size < 0 or self.update_every < 1:
            raise ConfigError("need k >= 1, buffer_size >= 0 and update_every >= 1")
        if self.distance not in _DISTANCES:
            raise ConfigError(f"distance must be 'e2dist' or 'edist', not {self.distance!r}")
        if self.init not in _INITS:
            raise ConfigError(f"init must be 'k-means++' or 'random', not {self.init!r}")
        if self.forgetful and not 0 < self.alpha <= 1:
            raise ConfigError("alpha must be in (0, 1] when forgetful")
        if self.centroids is not None:
            c = np.asarray(self.centroids, dtype=float)
            if c.ndim != 2 or c.shape[0] != self.k or (d is not None and c.shape[1] != d):
                raise ConfigError(f"centroids must be {self.k} x {d or 'd'}, got {c.shape}")
        elif self.buffer_size < self.k:
            raise ConfigError("buffer_size must be at least k (or give initial centroids)")

    # -- state ---------------------------------------------------------------------
    @property
    def fitted(self) -> bool:
        """True once there are centroids (after the warm-up, or given)."""
        return getattr(self, "centroids_", None) is not None

    @property
    def warming_up(self) -> bool:
        """True while rows are still needed before the first fit."""
        return not self.fitted and self.centroids is None

    def _start(self, d: int) -> None:
        self._validate_params(d)
        self.n_features_in_ = d
        self.centroids_: np.ndarray | None = (
            np.asarray(self.centroids, dtype=np.float64).copy()
            if self.centroids is not None
            else None
        )
        self.counts_ = np.zeros(self.k, dtype=np.float64)
        self.pending_sum_ = np.zeros((self.k, d))  # running-mean sums, or decayed sums
        self.pending_n_ = np.zeros(self.k)  # rows per centroid in the open chunk
        self.chunk_fill_ = 0  # rows in the open chunk
        self.n_seen_ = 0
        self.buffer_ = np.empty((0, d))

    # -- learning ------------------------------------------------------------------
    def learn_batch(self, X: Any) -> SequentialKMeans:
        """Learn the rows of ``X`` (``(n, d)``, finite), in order."""
        self.learn_predict_batch(X)
        return self

    def learn_predict_batch(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Learn the rows and return each one's cluster and distance (in the ``distance``
        metric) as assigned while learning (prequential). Rows that complete the warm-up
        get the labels of the fit; rows still buffered for it get cluster -1 and distance
        NaN."""
        X = self._check(X)
        if not hasattr(self, "n_seen_"):
            self._start(X.shape[1])
        n = len(X)
        labels = np.full(n, -1, dtype=np.int32)
        dist = np.full(n, np.nan)
        start = 0
        if self.warming_up:
            need = self.buffer_size - self.n_seen_
            head = X[:need]
            self.buffer_ = np.concatenate([self.buffer_, head]) if len(self.buffer_) else head
            self.n_seen_ += len(head)
            start = len(head)
            if self.n_seen_ < self.buffer_size:
                return labels, dist
            buffered = len(self.buffer_) - len(head)
            fit = self._fit(self.buffer_)
            d2 = self._distances(self.buffer_, fit)
            labels[:start], dist[:start] = fit[buffered:], self._metric(d2[buffered:])
            self.buffer_ = self.buffer_[:0]
        if start < n:
            self.n_seen_ += n - start
            lab, d2 = self._assign_and_learn(X[start:])
            labels[start:], dist[start:] = lab, self._metric(d2)
        return labels, dist

    def _metric(self, d2: np.ndarray) -> np.ndarray:
        return d2 if self.distance == "e2dist" else np.sqrt(d2)

    def fit_warm_up(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Fit on a whole warm-up buffer even if it is short of ``buffer_size`` (the end of
        a bounded stream); returns the fit's labels and distances (``distance`` metric)."""
        X = self._check(X)
        if not hasattr(self, "n_seen_"):
            self._start(X.shape[1])
        if len(X) < self.k:
            raise ConfigError(f"fewer than k={self.k} rows to fit on")
        self.n_seen_ += len(X)
        labels = self._fit(X)
        return labels.astype(np.int32), self._metric(self._distances(X, labels))

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ConfigError(f"X must be a 2-D array (n rows, d features); got shape {X.shape}")
        d = getattr(self, "n_features_in_", None)
        if d is not None and X.shape[1] != d:
            raise ConfigError(f"X has {X.shape[1]} features but the model was fitted with {d}")
        return X

    def _fit(self, x: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        if self.init == "random":
            seeds = x[rng.choice(len(x), size=self.k, replace=False)]
        else:
            seeds = _kmeans_pp(x, self.k, rng, squared=self.distance == "e2dist")
        self.centroids_, labels = _lloyd(x, seeds)
        self.counts_ = np.bincount(labels, minlength=self.k).astype(np.float64)
        return labels

    def _assign_and_learn(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Assign each row with its chunk's starting centroids; move centroids per chunk."""
        n = len(x)
        labels = np.empty(n, dtype=np.int32)
        dist = np.empty(n)
        start = 0
        while start < n:
            take = min(n - start, self.update_every - self.chunk_fill_)
            part = x[start : start + take]
            lab, dd = self._nearest(part)
            labels[start : start + take] = lab
            dist[start : start + take] = dd
            self._accumulate(part, lab)
            self.chunk_fill_ += take
            if self.chunk_fill_ == self.update_every:
                self._apply_chunk()
            start += take
        return labels, dist

    def _nearest(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = self.centroids_
        assert c is not None
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2, one matrix product for the whole chunk; |x|^2
        # does not change which centroid is nearest, so it is added for the winner only
        d2 = x @ (-2.0 * c.T)
        d2 += (c * c).sum(axis=1)
        lab = d2.argmin(axis=1)
        best = np.take_along_axis(d2, lab[:, None], axis=1)[:, 0]
        best += np.einsum("ij,ij->i", x, x)
        return lab.astype(np.int32), np.maximum(best, 0.0, out=best)

    def _distances(self, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        assert self.centroids_ is not None
        diff = x - self.centroids_[labels]
        return (diff * diff).sum(axis=1)

    def _accumulate(self, x: np.ndarray, lab: np.ndarray) -> None:
        k = self.k
        if not self.forgetful:
            for j in range(x.shape[1]):  # per feature: bincount is ~5x faster than add.at
                self.pending_sum_[:, j] += np.bincount(lab, weights=x[:, j], minlength=k)
            self.pending_n_ += np.bincount(lab, minlength=k)
            return
        # decayed sums: D <- (1-a)^m D + sum_j a (1-a)^(m-1-j) x_j, per centroid in row order
        a = self.alpha
        m = np.bincount(lab, minlength=k)
        order = np.argsort(lab, kind="stable")
        sorted_lab = lab[order]
        first = np.searchsorted(sorted_lab, np.arange(k))
        pos = np.arange(len(lab)) - first[sorted_lab]  # j within its centroid
        rev = m[sorted_lab] - 1 - pos  # rows after it, same centroid
        w = a * (1.0 - a) ** rev
        self.pending_sum_ *= ((1.0 - a) ** m)[:, None]
        np.add.at(self.pending_sum_, sorted_lab, x[order] * w[:, None])
        self.pending_n_ += m

    def _apply_chunk(self) -> None:
        c = self.centroids_
        assert c is not None
        n = self.pending_n_
        moved = n > 0
        if self.forgetful:
            decay = (1.0 - self.alpha) ** n
            c[moved] = decay[moved, None] * c[moved] + self.pending_sum_[moved]
        else:
            total = self.counts_ + n
            c[moved] = (self.counts_[moved, None] * c[moved] + self.pending_sum_[moved]) / total[
                moved, None
            ]
        self.counts_ += n
        self.pending_sum_[:] = 0.0
        self.pending_n_[:] = 0.0
        self.chunk_fill_ = 0

    # -- prediction ----------------------------------------------------------------
    def predict_batch(self, X: Any) -> np.ndarray:
        """The nearest centroid of each row (without learning)."""
        if not self.fitted:
            raise NotFittedError(
                "SequentialKMeans has no centroids yet: learn at least "
                "buffer_size rows (or give centroids) first"
            )
        return self._nearest(self._check(X))[0]

    # -- snapshots -----------------------------------------------------------------
    def snapshot(self) -> bytes:
        """Learned state as bytes (:func:`~streamlearn.core.state.encode_state`)."""
        if not hasattr(self, "n_seen_"):
            return encode_state({"model": "SequentialKMeans"}, {})
        arrays = {
            "counts": self.counts_,
            "pending_sum": self.pending_sum_,
            "pending_n": self.pending_n_,
            "buffer": self.buffer_,
        }
        if self.centroids_ is not None:
            arrays["centroids"] = self.centroids_
        return encode_state(
            {
                "model": "SequentialKMeans",
                "n_seen": self.n_seen_,
                "chunk_fill": self.chunk_fill_,
                "d": self.n_features_in_,
            },
            arrays,
        )

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        if values.get("model") != "SequentialKMeans":
            raise StateError("not a SequentialKMeans snapshot")
        if "n_seen" not in values:
            return
        self._start(int(values["d"]))
        self.n_seen_ = int(values["n_seen"])
        self.chunk_fill_ = int(values["chunk_fill"])
        self.counts_ = arrays["counts"]
        self.pending_sum_ = arrays["pending_sum"]
        self.pending_n_ = arrays["pending_n"]
        self.buffer_ = arrays["buffer"]
        self.centroids_ = arrays.get("centroids")


def _lloyd(
    x: np.ndarray, centers: np.ndarray, max_iter: int = 300, tol: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Batch k-means (Lloyd) from the given seeds, on the warm-up buffer only.

    Written out rather than taken from scikit-learn: on a buffer of ~1000 points it is
    the same dozen NumPy lines, and importing scikit-learn would cost each pipeline
    process ~90 MB of memory and ~1 s of start-up (measured, BENCHMARKS.md). An empty
    cluster keeps its previous centre. Converges when the centres move less than ``tol``
    times the mean feature variance (scikit-learn's criterion).
    """
    centers = centers.astype(np.float64).copy()
    threshold = tol * float(np.mean(np.var(x, axis=0))) if len(x) else 0.0
    xx = (x * x).sum(axis=1)[:, None]
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(max_iter):
        d2 = xx - 2.0 * (x @ centers.T) + (centers * centers).sum(axis=1)[None, :]
        labels = d2.argmin(axis=1)
        counts = np.bincount(labels, minlength=len(centers))
        sums = np.zeros_like(centers)
        np.add.at(sums, labels, x)
        moved = centers.copy()
        filled = counts > 0
        moved[filled] = sums[filled] / counts[filled, None]
        shift = float(((moved - centers) ** 2).sum())
        centers = moved
        if shift <= threshold:
            break
    d2 = xx - 2.0 * (x @ centers.T) + (centers * centers).sum(axis=1)[None, :]
    return centers, d2.argmin(axis=1)


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator, *, squared: bool) -> np.ndarray:
    """k-means++ seeding; weights D² (``e2dist``) or D (``edist``)."""
    centers = [x[rng.integers(len(x))]]
    d2 = ((x - centers[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        w = d2 if squared else np.sqrt(d2)
        total = w.sum()
        idx = rng.choice(len(x), p=w / total) if total > 0 else rng.integers(len(x))
        centers.append(x[idx])
        d2 = np.minimum(d2, ((x - x[idx]) ** 2).sum(axis=1))
    return np.array(centers)
