"""Online learning with delayed feedback (scenario S4).

Events arrive unlabeled and get a prediction at once; their labels arrive later on a
feedback input. The step keeps each predicted event (features, prediction, arrival
time) in a pending table keyed by the event id (:class:`~streamlearn.join.DelayedJoin`);
a label batch is joined with it (vectorised, Polars), the learner learns from the
matched rows in label order, the prequential metrics are updated with the prediction
that was made *before* the label was known, and the matched events are deleted.

The feedback is a side input (:class:`~streamlearn.core.operator.SideInput`, port
``"feedback"``): a source and the operators that decode it, e.g.
``sl.read.from_kafka("labels") | sl.decode.json({"event_id": "string", "y": "string"})``;
a bare source gets ``sl.decode.json()``. Decoded label batches reach the step through
``process_side``; they never pass through the operators before it. Events and labels
must be keyed by the event id and co-partitioned (same partition count), as Kafka
Streams requires for joins: partition *p* of both topics is processed by the same step.
The runtime checks the partition counts at start-up.

What can go wrong with labels, and what happens:

* a label before its event waits (bounded by ``ttl`` and ``max_pending``) and is
  learned when the event comes;
* a second label for an event already learned is a ``duplicate_label`` (the ids of the
  last 100,000 learned events are remembered) and is not learned again;
* a label for an unknown id waits like an early one and expires after ``ttl``
  (``expired_labels``); an event never labelled expires the same way
  (``expired_events``);
* a label without an id or a value goes to the dead-letter topic (``bad_labels``); one
  that is not JSON is dead-lettered by the decoder.

Ages are measured on the wall clock, not a monotonic one, so they survive a restart.
Pending events, waiting labels, the models and the metrics are the step's snapshot; the
snapshot carries the offsets of both topics, so a restart loses none of them and learns
no label twice. With ``publish=`` the model is pushed to the registry every ``every``
learned labels (:mod:`streamlearn.ml.publish`), for ``sl.ml.predict`` elsewhere.

The live report (prequential metrics and the join's counters, :meth:`report`) goes to
``ctx.metrics``; the runtime publishes it with the run's other figures to the metrics
feed ``<name>.metrics`` and to Prometheus (:mod:`streamlearn.runtime.metrics`). The step
writes to no topic of its own: ``metrics_topic=``/``metrics_every=`` are deprecated and
have no effect.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, OutputTopic, SideInput, Step
from streamlearn.core.state import decode_state, encode_state
from streamlearn.join.feedback import feedback_pipeline
from streamlearn.join.pending import DelayedJoin
from streamlearn.ml._features import feature_block
from streamlearn.ml._labels import encode_labels
from streamlearn.ml._predict import PROBA, as_learner, predict_by_key
from streamlearn.ml.learners.base import Learner
from streamlearn.ml.metrics import ClassificationMetrics, RegressionMetrics
from streamlearn.ml.publish import CONTROL, Publish, Publisher

log = logging.getLogger("streamlearn.ml")

_Y = "__sl_y"  # the label
_I = "__sl_i"  # row position
#: the port name of the labels input
FEEDBACK = "feedback"


@dataclass(frozen=True)
class PredictThenLearn(Operator):
    """Predict each event now; learn when its label arrives on the feedback input.

    Built by :func:`~streamlearn.ml.online_classifier` and
    :func:`~streamlearn.ml.online_regressor`, which document the parameters.

    Output columns added to each event: ``prediction`` (null until the model has learned
    a row), ``score`` (the probability of the predicted class, or its margin, where the
    learner has one; null otherwise) and ``model_updates`` (the update count of the model
    that predicted).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> op = sl.ml.online_classifier(["x"], model=sl.ml.PassiveAggressive(), id="event_id",
    ...                              feedback=sl.read.from_kafka("labels"), label="y")
    >>> [(s.port, s.pipeline.source.topics) for s in op.inputs()]
    [('feedback', ('labels',))]
    >>> op.apply(pl.DataFrame({"event_id": ["a", "b"], "x": [1.0, 2.0]}))["prediction"].to_list()
    [None, None]
    """

    features: Sequence[str] = ()
    model: Any = None
    id: str = "event_id"
    feedback: Any = None  # a source, optionally | its decoders
    label: str = "y"
    key_by: str | None = None
    ttl: float = 3600.0
    max_pending: int = 1_000_000
    metrics_topic: str | None = None  # deprecated: the run's metrics feed has the report
    metrics_every: float | None = None  # deprecated: RunOptions.metrics_interval
    metrics_window: int = 1000
    publish: Publish | None = None
    kind: str = field(default="ml.online", init=False, repr=False)
    stateful: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.features or self.model is None or self.feedback is None:
            raise ConfigError("online learning needs features, a model and a feedback source")
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "model", as_learner(self.model))
        object.__setattr__(self, "feedback", feedback_pipeline(self.feedback))
        if not getattr(self.feedback.source, "topics", None):
            raise ConfigError("feedback must be a source such as sl.read.from_kafka('labels')")
        clash = {self.id, self.key_by} & set(self.features)
        if clash:
            raise ConfigError(
                f"{sorted(c for c in clash if c)} cannot be both a feature and the id or key column"
            )
        if self.ttl <= 0 or self.max_pending < 1:
            raise ConfigError("ttl must be > 0 and max_pending >= 1")
        if self.metrics_topic is not None or self.metrics_every is not None:
            warnings.warn(
                "metrics_topic= and metrics_every= are deprecated and have no effect: the "
                "learner's report goes to the run's metrics feed '<name>.metrics' every "
                "metrics_interval seconds (RunOptions.metrics_topic / metrics_interval)",
                DeprecationWarning,
                stacklevel=5,  # the user's call of sl.ml.online_classifier
            )
        if self.publish is not None and (self.key_by or not self.model.tags().snapshot):
            raise ConfigError(
                "publish= needs one model (no key_by) that has a pickle-free format "
                f"(not {type(self.model).__name__})"
            )

    def inputs(self) -> tuple[SideInput, ...]:
        extra = self.publish.inputs() if self.publish is not None else ()
        return (SideInput(FEEDBACK, self.feedback), *extra)

    def outputs(self) -> tuple[OutputTopic, ...]:
        return self.publish.outputs() if self.publish is not None else ()

    def build(self) -> Step:
        return _PredictThenLearnStep(self)


class _PredictThenLearnStep(Step):
    """One partition's learners, pending events, waiting labels and metrics."""

    def __init__(self, spec: PredictThenLearn) -> None:
        self.spec = spec
        spec.model.prepare()
        self.regression = spec.model.tags().role == "regressor"
        self.models: dict[Any, Learner] = {}
        self.metrics: Any = (RegressionMetrics if self.regression else ClassificationMetrics)(
            window=spec.metrics_window
        )
        # left: id, [key], features, prediction, [proba], t; right: id, y, t
        self.join = DelayedJoin(spec.id, ttl=spec.ttl, max_rows=spec.max_pending)
        self.counts = dict.fromkeys(
            ("events", "labels", "learned", "bad_labels", "events_without_id"), 0
        )
        self.partition: int | None = None
        self._warned = False
        self.publisher = (
            Publisher(spec.publish, spec.features) if spec.publish is not None else None
        )

    @property
    def events_(self) -> pl.DataFrame | None:
        """The events waiting for their label."""
        return self.join.left.frame

    @property
    def labels_(self) -> pl.DataFrame | None:
        """The labels waiting for their event."""
        return self.join.right.frame

    def _model(self, key: Any) -> Learner:
        model = self.models.get(key)
        if model is None:
            model = self.models[key] = self.spec.model.clone()
        return model

    # -- the step contract --------------------------------------------------------------
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        now = self._begin(batch, ctx)
        out = self._events(batch, ctx, now)
        ctx.metrics[f"{self.name}[{self.partition}]"] = self.report()
        return out

    def process_side(self, port: str, batch: Batch, ctx: Context) -> Batch | None:
        if port == CONTROL and self.publisher is not None:
            self.publisher.on_control(batch)
            return None
        if port != FEEDBACK:
            return super().process_side(port, batch, ctx)
        self._labels(batch, ctx, self._begin(batch, ctx))
        ctx.metrics[f"{self.name}[{self.partition}]"] = self.report()
        return None

    def _begin(self, batch: Batch, ctx: Context) -> float:
        if batch.origin is not None:
            self.partition = batch.origin.partition
        now = ctx.wall_time()
        self.join.expire(now)
        return now

    def on_timer(self, ctx: Context) -> Batch | None:
        self.join.expire(ctx.wall_time())
        if self.partition is not None:  # expiries change the report between batches
            ctx.metrics[f"{self.name}[{self.partition}]"] = self.report()
        return None

    def report(self) -> dict[str, Any]:
        """Live metrics and counters (JSON-able)."""
        j = self.join.counts
        return {
            **self.metrics.as_dict(),
            **self.counts,
            "expired_events": j["expired_left"],
            "expired_labels": j["expired_right"],
            "dropped_events": j["dropped_left"],
            "dropped_labels": j["dropped_right"],
            "duplicate_labels": j["duplicates"],
            "pending_events": self.join.left.height,
            "waiting_labels": self.join.right.height,
            "models": len(self.models),
            "model_updates": sum(int(getattr(m, "n_updates_", 0)) for m in self.models.values()),
        }

    # -- events -------------------------------------------------------------------------
    def _events(self, batch: Batch, ctx: Context, now: float) -> Batch | None:
        spec = self.spec
        df = batch.data
        key_col = [spec.key_by] if spec.key_by else []
        x = feature_block(batch, spec.features, [spec.id, *key_col], ctx, self.name, what="event")
        if x is None:
            return None
        preds = predict_by_key(self._model, x, df[spec.key_by] if spec.key_by else None)
        out = df.with_columns(preds.select(pl.exclude(PROBA)))
        stored = pl.concat(
            [
                df.select(spec.id, *key_col, *spec.features),
                preds.select("prediction", *([PROBA] if PROBA in preds.columns else [])),
            ],
            how="horizontal",
        )
        no_id = stored[spec.id].is_null()
        if no_id.any():  # predicted and passed on, but nothing to join a label with
            self.counts["events_without_id"] += int(no_id.sum())
            stored = stored.filter(~no_id)
        self.counts["events"] += df.height
        joined = self.join.add_left(stored, now)
        if joined.height:
            self._learn(joined, ctx)
        return batch.with_data(out)

    # -- labels -------------------------------------------------------------------------
    def _labels(self, batch: Batch, ctx: Context, now: float) -> None:
        spec = self.spec
        df = batch.data
        lacking = [c for c in (spec.id, spec.label) if c not in df.columns]
        if lacking:
            ctx.dead_letter(batch, f"label record lacks {lacking}", self.name)
            self.counts["bad_labels"] += batch.height
            return
        df = df.select(pl.col(spec.id), pl.col(spec.label).alias(_Y))
        if self.regression:
            df = df.with_columns(pl.col(_Y).cast(pl.Float64, strict=False))
        null = (df[spec.id].is_null() | df[_Y].is_null()).to_numpy()
        if null.any():
            ctx.dead_letter(
                batch.filter(null),
                f"label record has no {spec.id!r} or no usable {spec.label!r}",
                self.name,
            )
            self.counts["bad_labels"] += int(null.sum())
            df = df.filter(pl.Series(~null))
        if not df.height:
            return
        self.counts["labels"] += df.height
        joined = self.join.add_right(df, now)
        if joined.height:
            self._learn(joined, ctx)

    def _learn(self, joined: pl.DataFrame, ctx: Context) -> None:
        """Learn, cut at the publishing cadence (``publish=`` has one model, no key_by)."""
        pub = self.publisher
        for part in [joined] if pub is None else pub.split(joined, self.counts["learned"]):
            self._learn_rows(part)
            if pub is not None:
                learned = self.counts["learned"]
                pub.publish_learner(ctx, self._model(None), learned, self.partition, self.name)

    def _learn_rows(self, joined: pl.DataFrame) -> None:
        """Score the stored predictions, then learn, per key in label order."""
        spec = self.spec
        if spec.key_by:
            groups = joined.with_row_index(_I).partition_by(
                spec.key_by, maintain_order=True, as_dict=True
            )
            parts = [(k[0], g) for k, g in groups.items()]
        else:
            parts = [(None, joined)]
        for key, part in parts:
            model = self._model(key)
            x = part.select(pl.col(spec.features).cast(pl.Float64)).to_numpy()
            y = part[_Y].to_numpy()
            self._score(model, part, y)
            model.learn_batch(x, y)
        self.counts["learned"] += joined.height

    def _score(self, model: Learner, part: pl.DataFrame, y: np.ndarray) -> None:
        """Prequential metrics of the predictions made before the labels were known."""
        predicted = part["prediction"].is_not_null().to_numpy()
        if not predicted.any():
            return
        pred = part["prediction"].to_numpy()[predicted]
        truth = y[predicted]
        if self.regression:
            self.metrics.update(truth.astype(np.float64), pred.astype(np.float64))
            return
        p_true = None
        if PROBA in part.columns:  # probability the model gave the true class back then
            _, idx = encode_labels(model.classes_, truth)  # classes only ever grow at the end
            proba = part.filter(pl.Series(predicted)).with_columns(pl.Series(_I, idx))
            p_true = (
                proba.select(pl.col(PROBA).list.get(pl.col(_I), null_on_oob=True))
                .to_series()
                .fill_null(0.0)
                .to_numpy()
            )
        if pred.dtype != truth.dtype and truth.dtype.kind in "iub":
            pred = pred.astype(truth.dtype)
        self.metrics.update(truth, pred, p_true=p_true)

    # -- state --------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        keys = list(self.models)
        snapshotted = all(m.tags().snapshot for m in self.models.values())
        if snapshotted:
            for i, model in enumerate(self.models.values()):
                if model.fitted:
                    arrays[f"model.{i}"] = np.frombuffer(model.snapshot(), np.uint8)
        elif not self._warned:
            self._warned = True
            log.warning(
                "%s: %s cannot be snapshotted; after a restart the model starts "
                "over (pending events and metrics are kept)",
                self.name,
                type(self.spec.model).__name__,
            )
        arrays.update(self.join.snapshot("join."))
        arrays["metrics"] = np.frombuffer(self.metrics.snapshot(), np.uint8)
        values = {
            "counts": self.counts,
            "join": self.join.counts,
            "keys": keys if snapshotted else [],
        }
        if self.publisher is not None:
            values["publish"] = self.publisher.state()
        return encode_state(values, arrays)

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        self.counts.update(values["counts"])
        self.join.counts.update(values["join"])
        for i, key in enumerate(values["keys"]):
            model = self._model(key)
            if f"model.{i}" in arrays:
                model.restore(arrays[f"model.{i}"].tobytes())
        self.join.restore(arrays, "join.")
        self.metrics.restore(arrays["metrics"].tobytes())
        if self.publisher is not None and "publish" in values:
            self.publisher.load(values["publish"])
