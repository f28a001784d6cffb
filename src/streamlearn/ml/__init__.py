"""Machine learning on streams: models, and the operators that run them on batches.

Models (:mod:`streamlearn.ml.base`: one protocol, roles classifier / regressor /
clusterer / transformer) work offline on NumPy arrays like estimators:
:class:`PassiveAggressive`, :class:`PassiveAggressiveRegressor`,
:class:`SoftConfidenceWeighted`, :class:`LogisticRegressionSGD`,
:class:`LinearRegressionSGD`, :class:`SequentialKMeans`, :class:`StandardScaler`, and the
adapters :class:`SklearnPartialFit` and :class:`RiverAdapter`. Operators wrap them in a
pipeline: :func:`sequential_k_means` (:class:`KMeansOperator`), :func:`standard_scaler`
(:class:`ScalerOperator`), :func:`online_classifier` and :func:`online_regressor`
(:class:`PredictThenLearn`), :func:`train` (:class:`Train`: torch, Keras or ``partial_fit``
models trained on mini-batches).

Examples
--------
>>> import streamlearn as sl
>>> sl.ml.sequential_k_means(["bid", "ask"], k=3).kind
'ml.sequential_k_means'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streamlearn.core.errors import ConfigError
from streamlearn.ml._predict import as_learner
from streamlearn.ml.base import Model, Tags
from streamlearn.ml.kmeans import KMeansOperator, SequentialKMeans
from streamlearn.ml.learners import (
    LinearRegressionSGD,
    LogisticRegressionSGD,
    PassiveAggressive,
    PassiveAggressiveRegressor,
    RiverAdapter,
    SklearnPartialFit,
    SoftConfidenceWeighted,
)
from streamlearn.ml.learners.base import Learner
from streamlearn.ml.metrics import ClassificationMetrics, RegressionMetrics
from streamlearn.ml.minibatch import Train, train
from streamlearn.ml.online import PredictThenLearn
from streamlearn.ml.publish import publish_spec
from streamlearn.ml.scaler import ScalerOperator, StandardScaler
from streamlearn.registry.records import ARTIFACT_TOPIC, CONTROL_TOPIC
from streamlearn.serve.predict import predict


def sequential_k_means(
    features: Sequence[str],
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
    output: str = "cluster",
    output_distance: bool = False,
    name: str | None = None,
) -> KMeansOperator:
    """Cluster a stream online (kdb Insights' ``ml.sequential_k_means``).

    Fits ``k`` centroids on the first ``buffer_size`` records of each partition, emits
    them with their ``cluster``, then assigns every record to its nearest centroid while
    the centroids keep learning. The model is :class:`SequentialKMeans` (usable offline
    on arrays); the results do not depend on how the stream is cut into batches.

    Parameters
    ----------
    features
        Numeric columns that make the point (e.g. ``["bid", "ask"]``).
    k, buffer_size, distance, forgetful, alpha, centroids, init, seed, update_every
        The model's hyperparameters, see :class:`SequentialKMeans`. ``distance`` is
        ``"e2dist"`` (squared Euclidean) or ``"edist"`` (Euclidean); ``init`` is
        ``"k-means++"`` or ``"random"``.
    output
        Name of the cluster column (``Int32``).
    output_distance
        Also add a ``distance`` column (to the assigned centroid, in ``distance``'s metric).
    name
        Step name (keys the state; give one if the pipeline may be edited).

    Examples
    --------
    >>> import numpy as np, polars as pl, streamlearn as sl
    >>> rng = np.random.default_rng(0)
    >>> pts = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    >>> df = pl.DataFrame({"x": pts[:, 0], "y": pts[:, 1]})
    >>> out = sl.ml.sequential_k_means(["x", "y"], k=2, buffer_size=20).apply(df)
    >>> out.height, out["cluster"].n_unique()
    (100, 2)
    """
    model = SequentialKMeans(
        k=k,
        buffer_size=buffer_size,
        distance=distance,
        forgetful=forgetful,
        alpha=alpha,
        centroids=centroids,
        init=init,
        seed=seed,
        update_every=update_every,
    )
    return KMeansOperator(
        features=tuple(features),
        model=model,
        output=output,
        output_distance=output_distance,
        name=name,
    )


def standard_scaler(features: Sequence[str], *, name: str | None = None) -> ScalerOperator:
    """Standardise features on a stream: ``(x - running mean) / running std``.

    Each batch first updates the statistics, then is scaled with them; the model is
    :class:`StandardScaler` (usable offline on arrays).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> sl.ml.standard_scaler(["x"]).apply(pl.DataFrame({"x": [1.0, 3.0]}))["x"].to_list()
    [-1.0, 1.0]
    """
    return ScalerOperator(features=tuple(features), name=name)


def _online(
    role: str,
    verb: str,
    model: Any,
    *,
    publish: str | None,
    every: int | None,
    alias: str | None,
    registry_topic: str,
    artifact_topic: str,
    **settings: Any,
) -> PredictThenLearn:
    learner = as_learner(model)
    got = learner.tags().role
    if got != role:
        other = "online_regressor" if got == "regressor" else "online_classifier"
        raise ConfigError(f"{verb} needs a {role}; {learner!r} is a {got} (use {other})")
    spec = publish_spec(publish, every, alias, registry_topic, artifact_topic)
    return PredictThenLearn(model=learner, publish=spec, **settings)


def online_classifier(
    features: Sequence[str],
    *,
    model: Any,
    feedback: Any,
    id: str = "event_id",
    label: str = "y",
    key_by: str | None = None,
    ttl: float = 3600.0,
    max_pending: int = 1_000_000,
    metrics_topic: str | None = None,
    metrics_every: float | None = None,
    metrics_window: int = 1000,
    publish: str | None = None,
    every: int | None = None,
    alias: str | None = "champion",
    registry_topic: str = CONTROL_TOPIC,
    artifact_topic: str = ARTIFACT_TOPIC,
    name: str | None = None,
) -> PredictThenLearn:
    """Predict events now, learn from their labels when they arrive on ``feedback``.

    Parameters
    ----------
    features
        Numeric feature columns of the events.
    model
        A classifier: a streamlearn learner, a scikit-learn estimator with
        ``partial_fit`` or a River classifier; cloned per partition (and per key).
    feedback
        The labels: a source keyed by the event id and co-partitioned with the events,
        optionally followed by its decoder, e.g. ``sl.read.from_kafka("labels") |
        sl.decode.json({"event_id": "string", "y": "string"})``; a bare source is decoded
        with ``sl.decode.json()``. Labels may be any hashable value (strings, integers,
        booleans).
    id
        Event id column (also the id field of the label records).
    label
        Label field of the label records.
    key_by
        Column of the events naming a separate model per value (one learner per key,
        created on first sight, kept with the partition's state).
    ttl
        Seconds an event waits for its label (and a label for its event).
    max_pending
        Most events (and most early labels) kept waiting per partition; the oldest are
        dropped first and counted.
    metrics_topic, metrics_every
        Deprecated, no effect (a ``DeprecationWarning``): the live metrics go to the
        run's metrics feed ``<name>.metrics`` with every other figure of the run
        (``RunOptions.metrics_topic``, ``metrics_interval``) and to Prometheus.
    metrics_window
        Rows in the rolling window of the metrics (besides the since-start figures).
    publish, every, alias
        Push the model to the registry as ``publish`` each time another ``every`` labels
        were learned, and point ``alias`` at the new version (``None``: no alias), so
        ``sl.ml.predict(publish)`` in another pipeline scores with what this one learned.
        streamlearn learners go in the ``"streamlearn"`` format (their snapshot),
        scikit-learn estimators as ONNX, River models of the allow-list of
        :mod:`streamlearn.formats.river` as ``"river"`` JSON (others have no format
        without pickle). Needs one model (no ``key_by``) and an input of one partition.
    registry_topic, artifact_topic
        The registry's control and artifact topics.
    name
        Step name (keys the state; give one if the pipeline may be edited).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> op = sl.ml.online_classifier(["x"], model=sl.ml.SoftConfidenceWeighted(),
    ...                              feedback=sl.read.from_kafka("labels"))
    >>> events = pl.DataFrame({"event_id": ["a", "b", "c"], "x": [1.0, -1.0, 2.0]})
    >>> labels = pl.DataFrame({"event_id": ["a", "b"], "y": ["up", "down"]})
    >>> sl.Pipeline.of(op).apply(events, side={"feedback": labels}).height
    3
    """
    return _online(
        "classifier",
        "online_classifier",
        model,
        features=tuple(features),
        feedback=feedback,
        id=id,
        label=label,
        key_by=key_by,
        ttl=ttl,
        max_pending=max_pending,
        metrics_topic=metrics_topic,
        metrics_every=metrics_every,
        metrics_window=metrics_window,
        publish=publish,
        every=every,
        alias=alias,
        registry_topic=registry_topic,
        artifact_topic=artifact_topic,
        name=name,
    )


def online_regressor(
    features: Sequence[str],
    *,
    model: Any,
    feedback: Any,
    id: str = "event_id",
    label: str = "y",
    key_by: str | None = None,
    ttl: float = 3600.0,
    max_pending: int = 1_000_000,
    metrics_topic: str | None = None,
    metrics_every: float | None = None,
    metrics_window: int = 1000,
    publish: str | None = None,
    every: int | None = None,
    alias: str | None = "champion",
    registry_topic: str = CONTROL_TOPIC,
    artifact_topic: str = ARTIFACT_TOPIC,
    name: str | None = None,
) -> PredictThenLearn:
    """As :func:`online_classifier`, for a regressor (metrics: MAE, RMSE, R²).

    The parameters are those of :func:`online_classifier`; ``model`` is a regressor and
    the label field holds numbers.

    Examples
    --------
    >>> import streamlearn as sl
    >>> sl.ml.online_regressor(["x"], model=sl.ml.PassiveAggressiveRegressor(),
    ...                        feedback=sl.read.from_kafka("targets"), label="price").label
    'price'
    """
    return _online(
        "regressor",
        "online_regressor",
        model,
        features=tuple(features),
        feedback=feedback,
        id=id,
        label=label,
        key_by=key_by,
        ttl=ttl,
        max_pending=max_pending,
        metrics_topic=metrics_topic,
        metrics_every=metrics_every,
        metrics_window=metrics_window,
        publish=publish,
        every=every,
        alias=alias,
        registry_topic=registry_topic,
        artifact_topic=artifact_topic,
        name=name,
    )


__all__ = [
    "ClassificationMetrics",
    "KMeansOperator",
    "Learner",
    "LinearRegressionSGD",
    "LogisticRegressionSGD",
    "Model",
    "PassiveAggressive",
    "PassiveAggressiveRegressor",
    "PredictThenLearn",
    "RegressionMetrics",
    "RiverAdapter",
    "ScalerOperator",
    "SequentialKMeans",
    "SklearnPartialFit",
    "SoftConfidenceWeighted",
    "StandardScaler",
    "Tags",
    "Train",
    "online_classifier",
    "online_regressor",
    "predict",
    "sequential_k_means",
    "standard_scaler",
    "train",
]
