"""Sequential k-means, as in kdb Insights' ``ml.sequential_k_means``.

The first ``buffer_size`` records of a partition are buffered; k centroids are fitted on
them (k-means++ or random initialisation, then Lloyd iterations), the buffered records
are emitted with their ``cluster``, and from then on every record is assigned to its
nearest centroid while the centroids keep learning: a running mean per centroid
(MacQueen), or, when ``forgetful``, an exponentially decayed mean with learning rate
``alpha`` so the model follows a drifting stream.

Vectorised, and independent of how the stream was cut into micro-batches
-------------------------------------------------------------------------
A strictly per-record update (assign, move, assign the next...) cannot be vectorised;
a per-batch update can, but then the result depends on batch boundaries, which differ
between runs (the Kafka reader takes what is available). So the centroids move after
every ``update_every`` records (a *chunk*, counted from the end of the warm-up), and
each record is assigned with the centroids as they stood at the start of its chunk. The
partial sums of an unfinished chunk are state. Any cut of the same record sequence
into batches -- online, offline, after a restart from a snapshot -- gives the same
assignments and centroids. ``update_every=1`` is the classic per-record algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, Step
from streamlearn.core.state import decode_state, encode_state


@dataclass(frozen=True)
class SequentialKMeans(Operator):
    """Cluster a stream online: fit on the first records, then assign and keep learning.

    Parameters
    ----------
    features
        Numeric columns that make the point (e.g. ``["bid", "ask"]``).
    k
        Number of centroids.
    buffer_size
        Records buffered before the first fit (kdb ``bufferSize``).
    distance
        ``"e2dist"`` (squared Euclidean) or ``"edist"`` (Euclidean): the metric reported
        in the ``distance`` column when ``output_distance`` is set, and the weighting of the
        k-means++ seeding (D² or D). Assignments are the same for both.
    forgetful, alpha
        Exponentially decayed centroid updates with learning rate ``alpha`` (0 < alpha <= 1)
        instead of a running mean.
    centroids
        Initial centroids (k x d); skips the warm-up: records are assigned from the first.
    init
        ``"k-means++"`` or ``"random"`` seeding of the warm-up fit.
    seed
        Random seed of the fit (results are deterministic for a seed).
    update_every
        Records per centroid update (see the module docstring).
    output
        Name of the cluster column.

    Examples
    --------
    >>> import numpy as np, polars as pl, streamlearn as sl
    >>> rng = np.random.default_rng(0)
    >>> pts = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    >>> df = pl.DataFrame({"x": pts[:, 0], "y": pts[:, 1]}).sample(fraction=1.0, seed=1)
    >>> out = sl.ml.sequential_k_means(["x", "y"], k=2, buffer_size=20, seed=0).apply(df)
    >>> out.height, out["cluster"].n_unique()
    (100, 2)
    """

    features: Sequence[str] = ()
    k: int = 3
    buffer_size: int = 1000
    distance: str = "e2dist"
    forgetful: bool = False
    alpha: float = 0.1
    centroids: Sequence[Sequence[float]] | None = None
    init: str = "k-means++"
    seed: int | None = 0
    update_every: int = 1000
    output: str = "cluster"
    output_distance: bool = False
    kind: str = field(default="ml.sequential_k_means", init=False, repr=False)
    stateful: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.features:
            raise ConfigError("sequential_k_means needs the feature columns")
        if self.k < 1 or self.buffer_size < 0 or self.update_every < 1:
            raise ConfigError("need k >= 1, buffer_size >= 0 and update_every >= 1")
        if self.distance not in ("e2dist", "edist"):
            raise ConfigError(f"distance must be 'e2dist' or 'edist', not {self.distance!r}")
        if self.init not in ("k-means++", "random"):
            raise ConfigError(f"init must be 'k-means++' or 'random', not {self.init!r}")
        if self.forgetful and not 0 < self.alpha <= 1:
            raise ConfigError("alpha must be in (0, 1] when forgetful")
        if self.centroids is not None:
            c = np.asarray(self.centroids, dtype=float)
            if c.shape != (self.k, len(self.features)):
                raise ConfigError(f"centroids must be {self.k} x {len(self.features)}, "
                                  f"got {c.shape}")
        if self.centroids is None and self.buffer_size < self.k:
            raise ConfigError("buffer_size must be at least k (or give initial centroids)")

    def build(self) -> Step:
        return SequentialKMeansStep(self)


class SequentialKMeansStep(Step):
    """The per-partition model. Learned state ends with ``_`` (scikit-learn style)."""

    def __init__(self, spec: SequentialKMeans) -> None:
        self.spec = spec
        self.features = list(spec.features)
        d = len(self.features)
        self.centroids_: np.ndarray | None = (
            np.asarray(spec.centroids, dtype=np.float64).copy()
            if spec.centroids is not None else None)
        self.counts_ = np.zeros(spec.k, dtype=np.float64)
        self.pending_sum_ = np.zeros((spec.k, d))   # running-mean sums, or decayed sums
        self.pending_n_ = np.zeros(spec.k)          # rows per centroid in the open chunk
        self.chunk_fill_ = 0                        # rows in the open chunk
        self.n_seen_ = 0
        self.buffer: list[Batch] = []
        self.buffered = 0

    def pending(self) -> list[Batch]:
        return self.buffer

    # -- warm-up -------------------------------------------------------------------
    def _fit(self, x: np.ndarray) -> np.ndarray:
        spec = self.spec
        rng = np.random.default_rng(spec.seed)
        if spec.init == "random":
            seeds = x[rng.choice(len(x), size=spec.k, replace=False)]
        else:
            seeds = _kmeans_pp(x, spec.k, rng, squared=spec.distance == "e2dist")
        self.centroids_, labels = _lloyd(x, seeds)
        self.counts_ = np.bincount(labels, minlength=spec.k).astype(np.float64)
        return labels

    # -- processing ----------------------------------------------------------------
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        x, batch = self._points(batch, ctx)
        if batch is None:
            return None
        warm = None
        if self.spec.centroids is None and self.n_seen_ < self.spec.buffer_size:
            # split exactly at buffer_size, so the fit never depends on batch boundaries
            need = self.spec.buffer_size - self.n_seen_
            head = batch if batch.height <= need else batch.take(np.arange(need))
            self.buffer.append(head)
            self.buffered += head.height
            self.n_seen_ += head.height
            if self.n_seen_ < self.spec.buffer_size:
                return None
            warm = self._warm_up()
            self._publish(ctx, batch)
            if batch.height == need:
                return warm
            batch = batch.take(np.arange(need, batch.height))
            x = x[need:]
        self.n_seen_ += batch.height
        labels, dist = self._assign_and_learn(x)
        out = self._output(batch, labels, dist)
        self._publish(ctx, batch)
        return out if warm is None else Batch.concat([warm, out])

    def _warm_up(self) -> Batch:
        whole = Batch.concat(self.buffer)
        self.buffer, self.buffered = [], 0
        x = whole.data.select(self.features).to_numpy().astype(np.float64)
        labels = self._fit(x)
        return self._output(whole, labels.astype(np.int32), self._distances(x, labels))

    def flush(self, ctx: Context) -> Batch | None:
        if not self.buffer:
            return None
        if self.buffered < self.spec.k:
            whole = Batch.concat(self.buffer)
            self.buffer, self.buffered = [], 0
            ctx.dead_letter(whole, f"fewer than k={self.spec.k} records to fit on", self.name)
            return None
        return self._warm_up()

    def _points(self, batch: Batch, ctx: Context) -> tuple[np.ndarray, Batch | None]:
        missing = [f for f in self.features if f not in batch.data.columns]
        if missing:
            ctx.dead_letter(batch, f"missing feature columns {missing}", self.name)
            return np.empty((0, 0)), None
        x = batch.data.select(self.features).to_numpy()
        if x.dtype != np.float64:
            x = x.astype(np.float64)
        bad = ~np.isfinite(x).all(axis=1)
        if bad.any():
            ctx.dead_letter(batch.filter(bad), "non-finite or null feature value", self.name)
            batch = batch.filter(~bad)
            x = x[~bad]
        return x, (batch if batch.height else None)

    def _assign_and_learn(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Assign each row with its chunk's starting centroids; move centroids per chunk."""
        n = len(x)
        labels = np.empty(n, dtype=np.int32)
        dist = np.empty(n)
        start = 0
        while start < n:
            take = min(n - start, self.spec.update_every - self.chunk_fill_)
            part = x[start:start + take]
            lab, dd = self._nearest(part)
            labels[start:start + take] = lab
            dist[start:start + take] = dd
            self._accumulate(part, lab)
            self.chunk_fill_ += take
            if self.chunk_fill_ == self.spec.update_every:
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
        diff = x - self.centroids_[labels]  # type: ignore[index]
        return (diff * diff).sum(axis=1)

    def _accumulate(self, x: np.ndarray, lab: np.ndarray) -> None:
        k = self.spec.k
        if not self.spec.forgetful:
            for j in range(x.shape[1]):  # per feature: bincount is ~5x faster than add.at
                self.pending_sum_[:, j] += np.bincount(lab, weights=x[:, j], minlength=k)
            self.pending_n_ += np.bincount(lab, minlength=k)
            return
        # decayed sums: D <- (1-a)^m D + sum_j a (1-a)^(m-1-j) x_j, per centroid in row order
        a = self.spec.alpha
        m = np.bincount(lab, minlength=k)
        order = np.argsort(lab, kind="stable")
        sorted_lab = lab[order]
        first = np.searchsorted(sorted_lab, np.arange(k))
        pos = np.arange(len(lab)) - first[sorted_lab]          # j within its centroid
        rev = m[sorted_lab] - 1 - pos                          # rows after it, same centroid
        w = a * (1.0 - a) ** rev
        self.pending_sum_ *= ((1.0 - a) ** m)[:, None]
        np.add.at(self.pending_sum_, sorted_lab, x[order] * w[:, None])
        self.pending_n_ += m

    def _apply_chunk(self) -> None:
        c = self.centroids_
        assert c is not None
        n = self.pending_n_
        moved = n > 0
        if self.spec.forgetful:
            decay = (1.0 - self.spec.alpha) ** n
            c[moved] = decay[moved, None] * c[moved] + self.pending_sum_[moved]
        else:
            total = self.counts_ + n
            c[moved] = ((self.counts_[moved, None] * c[moved] + self.pending_sum_[moved])
                        / total[moved, None])
        self.counts_ += n
        self.pending_sum_[:] = 0.0
        self.pending_n_[:] = 0.0
        self.chunk_fill_ = 0

    def _publish(self, ctx: Context, batch: Batch) -> None:
        """Expose the model to live views (demo, dashboard): a few numbers per batch."""
        part = batch.origin.partition if batch.origin is not None else 0
        ctx.metrics[f"{self.name}[{part}]"] = {
            "centroids": self.centroids_.round(6).tolist() if self.centroids_ is not None
            else None,
            "counts": (self.counts_ + self.pending_n_).astype(int).tolist(),
            "features": self.features,
        }

    def _output(self, batch: Batch, labels: np.ndarray, d2: np.ndarray) -> Batch:
        cols = [pl.Series(self.spec.output, labels, dtype=pl.Int32)]
        if self.spec.output_distance:
            dist = d2 if self.spec.distance == "e2dist" else np.sqrt(d2)
            cols.append(pl.Series("distance", dist))
        return batch.with_data(batch.data.with_columns(cols))

    # -- state ---------------------------------------------------------------------
    def snapshot(self) -> bytes:
        # the warm-up buffer is not saved: its rows are read again after a restart
        arrays = {"counts": self.counts_, "pending_sum": self.pending_sum_,
                  "pending_n": self.pending_n_}
        if self.centroids_ is not None:
            arrays["centroids"] = self.centroids_
        return encode_state({"n_seen": self.n_seen_ - self.buffered,
                             "chunk_fill": self.chunk_fill_}, arrays)

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        self.n_seen_ = int(values["n_seen"])
        self.chunk_fill_ = int(values["chunk_fill"])
        self.counts_ = arrays["counts"]
        self.pending_sum_ = arrays["pending_sum"]
        self.pending_n_ = arrays["pending_n"]
        self.centroids_ = arrays.get("centroids")
        self.buffer, self.buffered = [], 0


def _lloyd(x: np.ndarray, centers: np.ndarray, max_iter: int = 300, tol: float = 1e-4
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
