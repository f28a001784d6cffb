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

What can go wrong with labels, and what happens:

* a label before its event waits (bounded by ``ttl`` and ``max_pending``) and is
  learned when the event comes;
* a second label for an event already learned is a ``duplicate_label`` (the ids of the
  last 100,000 learned events are remembered) and is not learned again;
* a label for an unknown id waits like an early one and expires after ``ttl``
  (``expired_labels``); an event never labelled expires the same way
  (``expired_events``);
* a label without an id or a value, or that is not JSON, goes to the dead-letter topic
  (``bad_labels``).

Ages are measured on the wall clock, not a monotonic one, so they survive a restart.
Pending events, waiting labels, the models and the metrics are the step's snapshot; the
snapshot carries the offsets of both topics, so a restart loses none of them and learns
no label twice.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, OutputTopic, SideInput, Step
from streamlearn.core.pipeline import Pipeline
from streamlearn.core.state import decode_state, encode_state
from streamlearn.formats.json import decode_values
from streamlearn.ml.learners.base import Learner, encode_labels
from streamlearn.ml.metrics import ClassificationMetrics, RegressionMetrics

log = logging.getLogger("streamlearn.ml")

_T = "__sl_t"       # arrival time, seconds since the epoch
_Y = "__sl_y"       # the label
_P = "__sl_proba"   # class probabilities at prediction time (columns: classes_ then)
_I = "__sl_i"       # row position
#: how many learned event ids are remembered to recognise a label sent twice
RECENT_LEARNED = 100_000


def as_learner(model: Any) -> Learner:
    """A streamlearn learner, or a scikit-learn ``partial_fit`` estimator or a River
    model wrapped in its adapter."""
    if isinstance(model, Learner):
        return model
    from streamlearn.ml.learners.adapters import RiverAdapter, SklearnPartialFit

    if hasattr(model, "partial_fit"):
        return SklearnPartialFit(model)
    if hasattr(model, "learn_one"):
        return RiverAdapter(model)
    raise ConfigError(f"{type(model).__name__} is not a learner: pass a streamlearn learner "
                      "(sl.ml.PassiveAggressive(), ...), a scikit-learn estimator with "
                      "partial_fit, or a River model")


@dataclass(frozen=True)
class OnlineLearner(Operator):
    """Predict each event now; learn when its label arrives on the feedback topic.

    Parameters
    ----------
    features
        Numeric feature columns of the events.
    model
        A learner from :mod:`streamlearn.ml.learners`, a scikit-learn estimator with
        ``partial_fit`` or a River model; cloned per partition (and per key).
    id
        Event id column (also the id field of label records).
    feedback
        The label source, ``sl.read.from_kafka("labels")``: JSON records ``{id, label}``
        keyed by the event id, co-partitioned with the events.
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
    metrics_topic
        Topic that receives the live metrics as JSON every ``metrics_every`` seconds.
    metrics_window
        Rows in the rolling window of the metrics (besides the since-start figures).

    Output columns added to each event: ``prediction`` (null until the model has learned
    a row), ``score`` (the probability of the predicted class, or its margin, where the
    learner has one; null otherwise) and ``model_updates`` (the update count of the model
    that predicted).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> op = sl.ml.online_classifier(["x"], model=sl.ml.PassiveAggressive(), id="event_id",
    ...                              feedback=sl.read.from_kafka("labels"), label="y")
    >>> op.feedback_topics
    ('labels',)
    >>> op.apply(pl.DataFrame({"event_id": ["a", "b"], "x": [1.0, 2.0]}))["prediction"].to_list()
    [None, None]
    """

    features: Sequence[str] = ()
    model: Any = None
    id: str = "event_id"
    feedback: Any = None  # a read.from_kafka(...) source
    label: str = "y"
    key_by: str | None = None
    ttl: float = 3600.0
    max_pending: int = 1_000_000
    metrics_topic: str | None = None
    metrics_every: float = 1.0
    metrics_window: int = 1000
    kind: str = field(default="ml.online", init=False, repr=False)
    stateful: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.features or self.model is None or self.feedback is None:
            raise ConfigError("online learning needs features, a model and a feedback source")
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "model", as_learner(self.model))
        if not getattr(self.feedback, "topics", None):
            raise ConfigError("feedback must be a source such as sl.read.from_kafka('labels')")
        clash = {self.id, self.key_by} & set(self.features)
        if clash:
            raise ConfigError(f"{sorted(c for c in clash if c)} cannot be both a feature and "
                              "the id or key column")
        if self.ttl <= 0 or self.max_pending < 1 or self.metrics_every <= 0:
            raise ConfigError("ttl and metrics_every must be > 0 and max_pending >= 1")

    @property
    def feedback_topics(self) -> tuple[str, ...]:
        return tuple(self.feedback.topics)

    @property
    def output_topics(self) -> tuple[str, ...]:
        """Topics this operator writes to besides the pipeline's sinks."""
        return (self.metrics_topic,) if self.metrics_topic else ()

    def inputs(self) -> tuple[SideInput, ...]:
        return (SideInput("feedback", Pipeline.of(self.feedback)),)

    def outputs(self) -> tuple[OutputTopic, ...]:
        return (OutputTopic(self.metrics_topic, partitions=1),) if self.metrics_topic else ()

    def build(self) -> Step:
        return OnlineLearnerStep(self)


class OnlineLearnerStep(Step):
    """One partition's learners, pending events, waiting labels and metrics."""

    def __init__(self, spec: OnlineLearner) -> None:
        self.spec = spec
        spec.model.prepare()
        self.regression = spec.model.task == "regression"
        self.models: dict[Any, Learner] = {}
        self.metrics = (RegressionMetrics if self.regression else ClassificationMetrics)(
            window=spec.metrics_window)
        self.events_: pl.DataFrame | None = None   # id, [key], features, prediction, [proba], t
        self.labels_: pl.DataFrame | None = None   # id, y, t
        self.learned_: pl.Series | None = None     # ids learned recently (duplicates)
        self.counts = dict.fromkeys(
            ("events", "labels", "learned", "expired_events", "expired_labels",
             "dropped_events", "dropped_labels", "duplicate_labels", "bad_labels",
             "events_without_id"), 0)
        self.partition: int | None = None
        self._last_metrics = 0.0
        self._warned = False

    def _model(self, key: Any) -> Learner:
        model = self.models.get(key)
        if model is None:
            model = self.models[key] = self.spec.model.clone()
        return model

    # -- the step contract --------------------------------------------------------------
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        if batch.origin is not None:
            self.partition = batch.origin.partition
        now = ctx.wall_time()
        self._expire(now)
        if batch.origin is not None and batch.origin.topic in self.spec.feedback_topics:
            self._labels(batch, ctx, now)
            out = None
        else:
            out = self._events(batch, ctx, now)
        ctx.metrics[f"{self.name}[{self.partition}]"] = self.report()
        return out

    def process_side(self, port: str, batch: Batch, ctx: Context) -> Batch | None:
        if batch.origin is not None:
            self.partition = batch.origin.partition
        now = ctx.wall_time()
        self._expire(now)
        self._labels(batch, ctx, now)
        ctx.metrics[f"{self.name}[{self.partition}]"] = self.report()
        return None

    def on_timer(self, ctx: Context) -> Batch | None:
        self._expire(ctx.wall_time())
        topic = self.spec.metrics_topic
        if topic and self.counts["events"] + self.counts["labels"] and \
                ctx.now() - self._last_metrics >= self.spec.metrics_every:
            self._last_metrics = ctx.now()
            report = {"step": self.name, "partition": self.partition,
                      "time": ctx.wall_time(), **self.report()}
            value = orjson.dumps(report)
            ctx.emit(topic, Batch(pl.DataFrame({"metrics": [value]})), [value],
                     [f"{self.name}/{self.partition}".encode()])
        return None

    def report(self) -> dict[str, Any]:
        """Live metrics and counters (JSON-able)."""
        return {**self.metrics.as_dict(), **self.counts,
                "pending_events": self.events_.height if self.events_ is not None else 0,
                "waiting_labels": self.labels_.height if self.labels_ is not None else 0,
                "models": len(self.models),
                "model_updates": sum(int(getattr(m, "n_updates_", 0))
                                     for m in self.models.values())}

    # -- events -------------------------------------------------------------------------
    def _events(self, batch: Batch, ctx: Context, now: float) -> Batch | None:
        spec = self.spec
        df = batch.data
        key_col = [spec.key_by] if spec.key_by else []
        missing = [c for c in [*spec.features, spec.id, *key_col] if c not in df.columns]
        if missing:
            ctx.dead_letter(batch, f"event lacks column(s) {missing}", self.name)
            return None
        try:
            x = df.select(pl.col(spec.features).cast(pl.Float64)).to_numpy()
        except pl.exceptions.PolarsError as exc:
            ctx.dead_letter(batch, f"features are not numeric: {exc}", self.name)
            return None
        preds = self._predict(x, df[spec.key_by] if spec.key_by else None)
        out = df.with_columns(preds.select(pl.exclude(_P)))
        stored = pl.concat([df.select(spec.id, *key_col, *spec.features), preds.select(
            "prediction", *([_P] if _P in preds.columns else []))], how="horizontal")
        no_id = stored[spec.id].is_null()
        if no_id.any():  # predicted and passed on, but nothing to join a label with
            self.counts["events_without_id"] += int(no_id.sum())
            stored = stored.filter(~no_id)
        stored = stored.with_columns(pl.lit(now, pl.Float64).alias(_T))
        self.events_ = _append(self.events_, stored)
        self.counts["events"] += df.height
        if self.labels_ is not None and self.labels_.height:
            # a waiting label had no pending event when it came: only these new events
            # can be its match, so only the labels for them are taken out and joined
            ready = self.labels_[spec.id].is_in(stored[spec.id].implode())
            if ready.any():
                self.labels_, waiting = self.labels_.filter(~ready), self.labels_.filter(ready)
                self._match(waiting)
        self.events_, dropped = _bound(self.events_, spec.max_pending)
        self.counts["dropped_events"] += dropped
        return batch.with_data(out)

    def _predict(self, x: np.ndarray, keys: pl.Series | None) -> pl.DataFrame:
        """Predictions of the model of each row's key, in row order."""
        if keys is None:
            return _predict_with(self._model(None), x)
        groups = (pl.DataFrame({"k": keys}).with_row_index(_I)
                  .group_by("k", maintain_order=True).agg(pl.col(_I)))
        parts = []
        for key, idx in groups.iter_rows():  # one iteration per key, not per row
            rows = np.asarray(idx, dtype=np.int64)
            parts.append(_predict_with(self._model(key), x[rows]).with_columns(
                pl.Series(_I, rows)))
        return pl.concat(parts, how="diagonal_relaxed").sort(_I).drop(_I)

    # -- labels -------------------------------------------------------------------------
    def _labels(self, batch: Batch, ctx: Context, now: float) -> None:
        spec = self.spec
        df, positions, bad = decode_values(batch.values(), None)
        rows = np.arange(df.height) if positions is None else positions
        bad_rows = [i for i, _ in bad]
        reasons = [r for _, r in bad]
        lacking = [c for c in (spec.id, spec.label) if c not in df.columns]
        if lacking:
            bad_rows += rows.tolist()
            reasons += [f"label record lacks {lacking}"] * len(rows)
            df = pl.DataFrame()
        else:
            df = df.select(pl.col(spec.id), pl.col(spec.label).alias(_Y))
            if self.regression:
                df = df.with_columns(pl.col(_Y).cast(pl.Float64, strict=False))
            null = (df[spec.id].is_null() | df[_Y].is_null()).to_numpy()
            if null.any():
                bad_rows += rows[null].tolist()
                reasons += [f"label record has no {spec.id!r} or no usable {spec.label!r}"] \
                    * int(null.sum())
                df = df.filter(pl.Series(~null))
        if bad_rows:
            order = np.argsort(bad_rows, kind="stable")
            ctx.dead_letter(batch.take(np.asarray(bad_rows)[order]),
                            [reasons[i] for i in order], self.name)
            self.counts["bad_labels"] += len(bad_rows)
        if not df.height:
            return
        self.counts["labels"] += df.height
        self._match(df.with_columns(pl.lit(now, pl.Float64).alias(_T)))

    def _match(self, labels: pl.DataFrame) -> None:
        """Learn from the labels whose events are pending; the rest wait or are dropped."""
        spec = self.spec
        first = labels[spec.id].is_first_distinct() if labels.height > 1 else None
        if first is not None and not first.all():  # the same id twice in one batch
            self.counts["duplicate_labels"] += int((~first).sum())
            labels = labels.filter(first)
        if self.events_ is None or not self.events_.height:
            joined = labels.clear()
        else:
            joined = labels.join(self.events_.drop(_T), on=spec.id, how="inner",
                                 maintain_order="left")
        if joined.height:
            self._learn(joined)
            ids = joined[spec.id]
            self.events_ = self.events_.filter(~pl.col(spec.id).is_in(ids.implode()))  # type: ignore[union-attr]
            recent = ids if self.learned_ is None else pl.concat([self.learned_, ids])
            self.learned_ = recent.tail(RECENT_LEARNED)
            labels = labels.filter(~pl.col(spec.id).is_in(ids.implode()))
        if labels.height and self.learned_ is not None:
            # a label whose event was learned already (its event is no longer pending, so
            # only the labels left unmatched can be such repeats)
            again = _seen(labels[spec.id], self.learned_)
            if again.any():
                self.counts["duplicate_labels"] += int(again.sum())
                labels = labels.filter(~again)
        if labels.height:
            self.labels_ = _append(self.labels_, labels)
            self.labels_, dropped = _bound(self.labels_, spec.max_pending)
            self.counts["dropped_labels"] += dropped

    def _learn(self, joined: pl.DataFrame) -> None:
        """Score the stored predictions, then learn, per key in label order."""
        spec = self.spec
        if spec.key_by:
            groups = joined.with_row_index(_I).partition_by(spec.key_by, maintain_order=True,
                                                            as_dict=True)
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
        if _P in part.columns:  # probability the model gave the true class back then
            _, idx = encode_labels(model.classes_, truth)  # classes only ever grow at the end
            proba = part.filter(pl.Series(predicted)).with_columns(pl.Series(_I, idx))
            p_true = proba.select(pl.col(_P).list.get(pl.col(_I), null_on_oob=True)
                                  ).to_series().fill_null(0.0).to_numpy()
        if pred.dtype != truth.dtype and truth.dtype.kind in "iub":
            pred = pred.astype(truth.dtype)
        self.metrics.update(truth, pred, p_true=p_true)

    def _expire(self, now: float) -> None:
        limit = now - self.spec.ttl
        for attr, counter in (("events_", "expired_events"), ("labels_", "expired_labels")):
            df = getattr(self, attr)
            if df is not None and df.height:
                old = df[_T] < limit
                if old.any():
                    self.counts[counter] += int(old.sum())
                    setattr(self, attr, df.filter(~old))

    # -- state --------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        arrays: dict[str, np.ndarray] = {}
        keys = list(self.models)
        snapshotted = all(m.supports_snapshot for m in self.models.values())
        if snapshotted:
            for i, model in enumerate(self.models.values()):
                if model.fitted:
                    arrays[f"model.{i}"] = np.frombuffer(model.snapshot(), np.uint8)
        elif not self._warned:
            self._warned = True
            log.warning("%s: %s cannot be snapshotted; after a restart the model starts "
                        "over (pending events and metrics are kept)", self.name,
                        type(self.spec.model).__name__)
        for name in ("events_", "labels_"):
            df = getattr(self, name)
            if df is not None and df.height:
                arrays[name] = _ipc(df)
        if self.learned_ is not None:
            arrays["learned_"] = _ipc(self.learned_.to_frame())
        arrays["metrics"] = np.frombuffer(self.metrics.snapshot(), np.uint8)
        return encode_state({"counts": self.counts, "keys": keys if snapshotted else []},
                            arrays)

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        self.counts.update(values["counts"])
        for i, key in enumerate(values["keys"]):
            model = self._model(key)
            if f"model.{i}" in arrays:
                model.restore(arrays[f"model.{i}"].tobytes())
        for name in ("events_", "labels_"):
            if name in arrays:
                setattr(self, name, _read_ipc(arrays[name]))
        if "learned_" in arrays:
            self.learned_ = _read_ipc(arrays["learned_"]).to_series()
        self.metrics.restore(arrays["metrics"].tobytes())


def _predict_with(model: Learner, x: np.ndarray) -> pl.DataFrame:
    """``prediction``, ``model_updates`` and, where the learner has them, ``score`` and the
    class probabilities (kept with the pending event for the log-loss)."""
    n = x.shape[0]
    updates = pl.Series("model_updates", np.full(n, int(getattr(model, "n_updates_", 0))))
    none = pl.Series("score", [None] * n, dtype=pl.Float64)
    if not model.fitted:  # nothing learned yet: no prediction, but the event is kept
        return pl.DataFrame([pl.Series("prediction", [None] * n), none, updates])
    cols = [pl.Series("prediction", model.predict_batch(x))]
    if model.task == "classification" and model.has_proba:
        proba = model.predict_proba_batch(x)
        cols += [pl.Series("score", proba.max(axis=1)),
                 pl.Series(_P, proba).cast(pl.List(pl.Float64))]
    elif model.task == "classification" and model.has_decision:
        d = model.decision_batch(x)
        cols.append(pl.Series("score", np.abs(d) if d.ndim == 1 else d.max(axis=1)))
    else:  # a regressor, or a classifier with no confidence to give
        cols.append(none)
    return pl.DataFrame([*cols, updates])


def _seen(ids: pl.Series, learned: pl.Series) -> pl.Series:
    """``ids.is_in(learned)`` for a few ids against many learned ones.

    ``is_in`` hashes its argument: hashing the ~100k remembered ids on every batch cost
    ~7 ms, so the few new ids are hashed instead and the remembered ones scanned (~1 ms).
    """
    if ids.len() * 4 >= learned.len():
        return ids.is_in(learned.implode())
    hits = learned.filter(learned.is_in(ids.implode()))
    return ids.is_in(hits.implode())


def _append(df: pl.DataFrame | None, more: pl.DataFrame) -> pl.DataFrame:
    return more if df is None or not df.height else pl.concat([df, more],
                                                              how="diagonal_relaxed")


def _bound(df: pl.DataFrame, limit: int) -> tuple[pl.DataFrame, int]:
    """Keep the newest ``limit`` rows; return the frame and how many were dropped."""
    over = df.height - limit
    return (df.slice(over), over) if over > 0 else (df, 0)


def _ipc(df: pl.DataFrame) -> np.ndarray:
    buf = io.BytesIO()
    df.write_ipc(buf, compression="lz4")
    return np.frombuffer(buf.getvalue(), np.uint8)


def _read_ipc(arr: np.ndarray) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(arr.tobytes()))
