"""Online learning with delayed feedback (scenario S4).

Events arrive unlabeled and get a prediction at once; their labels arrive later on a
feedback topic. The step keeps each predicted event (features, prediction, arrival
time) in a pending table keyed by the event id; a label batch is joined with it
(vectorised, Polars), the learner learns from the matched rows in label order, the
prequential metrics are updated with the prediction that was made *before* the label
was known, and the matched events are deleted.

Events and labels must be keyed by the event id and co-partitioned (same partition
count), as Kafka Streams requires for joins: partition *p* of both topics is processed
by the same step. The runtime checks the partition counts at start-up. Label records
skip the operators before this one (they are routed straight to it).

Labels that arrive before their event wait (bounded by ``ttl`` and ``max_pending``) and
are learned when the event comes; labels for unknown or already-labelled ids wait the
same way and expire; events never labelled expire after ``ttl`` seconds. All are
counted. Pending events and early labels are part of the snapshot, so a restart loses
none of them; the snapshot carries the offsets of both topics, so no label is learned
twice.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, Step
from streamlearn.core.state import decode_state, encode_state
from streamlearn.io.json_codec import decode_values
from streamlearn.ml.learner import Learner
from streamlearn.ml.prequential import ClassificationMetrics, RegressionMetrics

_T = "__sl_t"


@dataclass(frozen=True)
class OnlineLearner(Operator):
    """Predict each event now; learn when its label arrives on the feedback topic.

    Parameters
    ----------
    features
        Numeric feature columns of the events.
    model
        A :class:`~streamlearn.ml.learner.Learner` (cloned per partition).
    id
        Event id column (also the ``id`` field of label records).
    feedback
        The label source, ``sl.read.from_kafka("labels")``.
    label
        Label field of the label records.
    ttl
        Seconds an event waits for its label (and a label for its event).
    max_pending
        Most events kept waiting per partition (oldest dropped first).
    metrics_topic
        Topic that receives the live metrics as JSON once per ``metrics_every`` seconds.

    Examples
    --------
    >>> import streamlearn as sl
    >>> op = sl.ml.online_classifier(["x"], model=sl.ml.PassiveAggressive(), id="event_id",
    ...                              feedback=sl.read.from_kafka("labels"), label="y")
    >>> op.feedback_topics
    ('labels',)
    """

    features: Sequence[str] = ()
    model: Learner | None = None
    id: str = "event_id"
    feedback: Any = None  # a read.from_kafka(...) source
    label: str = "y"
    ttl: float = 3600.0
    max_pending: int = 1_000_000
    metrics_topic: str | None = None
    metrics_every: float = 1.0
    kind: str = field(default="ml.online", init=False, repr=False)
    stateful: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.features or self.model is None or self.feedback is None:
            raise ConfigError("online learning needs features, a model and a feedback source")

    @property
    def feedback_topics(self) -> tuple[str, ...]:
        return self.feedback.topics  # type: ignore[union-attr]

    def build(self) -> Step:
        return OnlineLearnerStep(self)


class OnlineLearnerStep(Step):
    def __init__(self, spec: OnlineLearner) -> None:
        self.spec = spec
        self.model = spec.model.clone()  # type: ignore[union-attr]
        self.regression = self.model.task == "regression"
        self.metrics = RegressionMetrics() if self.regression else ClassificationMetrics()
        self.events_: pl.DataFrame | None = None      # id, features..., prediction, t
        self.labels_: pl.DataFrame | None = None        # id, label, t
        self.counts = {"events": 0, "labels": 0, "learned": 0, "expired_events": 0,
                       "expired_labels": 0, "dropped_events": 0, "bad_labels": 0}
        self._last_metrics = 0.0

    # -- events ---------------------------------------------------------------------
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        self._expire(ctx)
        if batch.origin is not None and batch.origin.topic in self.spec.feedback_topics:
            self._labels(batch, ctx)
            return None
        return self._events(batch, ctx)

    def _events(self, batch: Batch, ctx: Context) -> Batch | None:
        spec = self.spec
        df = batch.data
        missing = [c for c in [*spec.features, spec.id] if c not in df.columns]
        if missing:
            ctx.dead_letter(batch, f"missing columns {missing}", self.name)
            return None
        x = df.select(spec.features).to_numpy().astype(np.float64)
        if self.model.fitted:
            pred = pl.Series("prediction", self.model.predict_batch(x))
            score = self.model.score_batch(x)
        else:  # nothing learned yet: no prediction, but the event is still kept
            pred, score = pl.repeat(None, len(x), eager=True).alias("prediction"), None
        cols = [pred, pl.lit(self.model_version()).alias("model_updates")]
        if score is not None:
            cols.append(pl.Series("score", score))
        out = df.with_columns(cols)
        stored = out.select(spec.id, *spec.features, "prediction").with_columns(
            pl.lit(ctx.now()).alias(_T))
        self.events_ = stored if self.events_ is None else pl.concat(
            [self.events_, stored], how="vertical_relaxed")
        self.counts["events"] += len(x)
        if self.labels_ is not None and self.labels_.height:
            self._match(self.labels_, ctx, early=True)
        if self.events_.height > spec.max_pending:
            drop = self.events_.height - spec.max_pending
            self.counts["dropped_events"] += drop
            self.events_ = self.events_.slice(drop)
        self._publish(ctx)
        return batch.with_data(out)

    def model_version(self) -> int:
        return int(getattr(self.model, "n_updates_", 0))

    # -- labels ---------------------------------------------------------------------
    def _labels(self, batch: Batch, ctx: Context) -> None:
        spec = self.spec
        values = batch.values()
        df, _, bad = decode_values(values, None)
        if bad or spec.id not in df.columns or spec.label not in df.columns:
            reasons = [r for _, r in bad] or ["label record lacks id or label"]
            rows = [i for i, _ in bad] if bad else list(range(batch.height))
            ctx.dead_letter(batch.take(np.array(rows)), reasons if bad else reasons * len(rows),
                            self.name)
            self.counts["bad_labels"] += len(rows)
            if spec.id not in df.columns or spec.label not in df.columns:
                return
        labels = df.select(pl.col(spec.id), pl.col(spec.label).alias("__sl_y")).with_columns(
            pl.lit(ctx.now()).alias(_T)).drop_nulls([spec.id, "__sl_y"])
        self.counts["labels"] += labels.height
        self._match(labels, ctx, early=False)
        self._publish(ctx)

    def _match(self, labels: pl.DataFrame, ctx: Context, *, early: bool) -> None:
        """Learn from labels whose events are pending; keep the rest waiting."""
        spec = self.spec
        if self.events_ is None or not self.events_.height:
            if not early:
                self._wait(labels)
            return
        labels = labels.unique(spec.id, keep="first", maintain_order=True)
        joined = labels.join(self.events_.drop(_T), on=spec.id, how="inner",
                             maintain_order="left")
        if joined.height:
            x = joined.select(spec.features).to_numpy().astype(np.float64)
            y = joined["__sl_y"].to_numpy()
            known = joined["prediction"].is_not_null().to_numpy()
            if known.any():
                pred = joined["prediction"].to_numpy()
                self.metrics.update(y[known], pred[known].astype(y.dtype))
            self.model.learn_batch(x, y)
            self.counts["learned"] += joined.height
            self.events_ = self.events_.join(joined.select(spec.id), on=spec.id, how="anti")
        unmatched = labels.join(joined.select(spec.id), on=spec.id, how="anti")
        if early:
            self.labels_ = unmatched
        elif unmatched.height:
            self._wait(unmatched)

    def _wait(self, labels: pl.DataFrame) -> None:
        self.labels_ = labels if self.labels_ is None else pl.concat([self.labels_, labels],
                                                                 how="vertical_relaxed")

    def _expire(self, ctx: Context) -> None:
        limit = ctx.now() - self.spec.ttl
        if self.events_ is not None and self.events_.height:
            old = self.events_[_T] < limit
            if old.any():
                self.counts["expired_events"] += int(old.sum())
                self.events_ = self.events_.filter(~old)
        if self.labels_ is not None and self.labels_.height:
            old = self.labels_[_T] < limit
            if old.any():
                self.counts["expired_labels"] += int(old.sum())
                self.labels_ = self.labels_.filter(~old)

    def on_timer(self, ctx: Context) -> Batch | None:
        self._expire(ctx)
        if self.spec.metrics_topic and ctx.now() - self._last_metrics >= self.spec.metrics_every:
            self._last_metrics = ctx.now()
            row = pl.DataFrame({"metrics": [orjson.dumps(self.report()).decode()]})
            ctx.emit(self.spec.metrics_topic, Batch(row), [orjson.dumps(self.report())],
                     [self.name.encode()])
        return None

    def report(self) -> dict[str, Any]:
        return {**self.metrics.as_dict(), **self.counts,
                "pending_events": self.events_.height if self.events_ is not None else 0,
                "waiting_labels": self.labels_.height if self.labels_ is not None else 0,
                "model_updates": self.model_version()}

    def _publish(self, ctx: Context) -> None:
        ctx.metrics[self.name] = self.report()

    # -- state ----------------------------------------------------------------------
    def snapshot(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        if self.model.fitted:
            arrays["model"] = np.frombuffer(self.model.snapshot(), np.uint8)
        for name, df in (("events", self.events_), ("labels", self.labels_)):
            if df is not None and df.height:
                buf = io.BytesIO()
                df.with_columns(pl.col(c).cast(pl.String) for c in df.columns
                                if df.schema[c] == pl.Object).write_ipc(buf)
                arrays[name] = np.frombuffer(buf.getvalue(), np.uint8)
        return encode_state({"counts": self.counts}, arrays)

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        self.counts = values["counts"]
        if "model" in arrays:
            self.model.restore(arrays["model"].tobytes())
        for name in ("events", "labels"):
            if name in arrays:
                setattr(self, f"{name}_", pl.read_ipc(io.BytesIO(arrays[name].tobytes())))
