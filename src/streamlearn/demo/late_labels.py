"""Online classification with labels that arrive later (delayed feedback).

Events ``{event_id, f0..f7}`` and, 0-200 records later, their labels ``{event_id, y}``
(:mod:`streamlearn.datasets.synth.late_labels`); an online passive-aggressive classifier
predicts each event at once and learns from its label when it comes. The prequential
accuracy, per-class F1 and the join's bookkeeping are shown live and published with the
run's other figures to its metrics feed ``<name>.metrics``.

Examples
--------
>>> p = pipeline("events", "labels", "predictions")
>>> list(p.source.topics)
['events']
"""

from __future__ import annotations

import threading
from typing import Any

import streamlearn as sl
from streamlearn.core.pipeline import Pipeline
from streamlearn.datasets.synth.late_labels import LateLabels as LateLabelStream
from streamlearn.demo.base import DemoSettings, Record, ViewTable, feed_chunks
from streamlearn.kafka.config import KafkaConfig
from streamlearn.runtime.stats import RunStats

__all__ = ["FEATURES", "MIN_BOUNDED_S", "LateLabels", "pipeline"]

FEATURES = [f"f{i}" for i in range(8)]
#: the shortest a bounded run is fed over (seconds), so that labels are learned in time
MIN_BOUNDED_S = 2.0


def pipeline(
    events: str = "events",
    labels: str = "labels",
    out: str = "predictions",
    *,
    C: float = 0.1,
) -> Pipeline:
    """Events -> online passive-aggressive classifier (labels from ``labels``) -> out."""
    return (
        sl.read.from_kafka(events)
        | sl.decode.json({"event_id": "string", **dict.fromkeys(FEATURES, "float")})
        | sl.ml.online_classifier(
            FEATURES,
            id="event_id",
            label="y",
            name="model",
            model=sl.ml.PassiveAggressive(C=C, multiclass="multiclass"),
            feedback=sl.read.from_kafka(labels),
        )
        | sl.write.to_kafka(out, columns=["event_id", "prediction", "score", "model_updates"])
    )


class LateLabels:
    """Scenario: events now, their labels later; predict at once, learn when labels come."""

    name = "late-labels"
    title = "online classification with late labels"

    def __init__(self, settings: DemoSettings, suffix: str = "") -> None:
        self.settings = settings
        self.topics = {k: f"{k}{suffix}" for k in ("events", "labels")}
        self.topics["out"] = f"predictions{suffix}"
        self.produced = 0

    def create_topics(self, config: KafkaConfig) -> None:
        from streamlearn.kafka.admin import ensure_topics

        ensure_topics(config, {self.topics["events"]: 1, self.topics["labels"]: 1})

    def pipeline(self) -> Pipeline:
        return pipeline(
            self.topics["events"],
            self.topics["labels"],
            self.topics["out"],
        )

    def max_records(self) -> int | None:
        records = self.settings.records
        return 2 * records if records is not None else None

    def feed(self, config: KafkaConfig, stop: threading.Event, runner: Any) -> None:
        """Events and labels in arrival order at ``rate`` events per second, from the
        moment the pipeline owns its partitions: a live stream, not a backlog (from a
        backlog the reader fetches events and labels in large chunks, topic by topic, so
        many events would be predicted before labels that were produced before them).

        A bounded run lasts at least ``MIN_BOUNDED_S`` seconds, in at least 20 chunks, so
        that most events come after some labels were learned: fed in one burst, every
        event would be predicted (in one batch) before the first label was learned, and
        there would be no accuracy to report."""
        s = self.settings
        stream = LateLabelStream(n_features=len(FEATURES), seed=s.seed)
        where = {"event": self.topics["events"], "label": self.topics["labels"]}

        def chunk(n: int) -> list[Record]:
            return [(where[kind], key, value) for kind, key, value in stream.take(n)]

        rate = s.rate if s.records is None else min(s.rate, s.records / MIN_BOUNDED_S)
        size = max(1, int(rate / 10))
        if s.records is not None:
            size = max(1, min(size, s.records // 20))
        feed_chunks(
            config,
            chunk,
            stop=stop,
            records=s.records,
            rate=rate,
            chunk_size=size,
            runner=runner,
            on_progress=self._count,
        )

    def _count(self, n: int) -> None:
        self.produced = n

    def view(self, stats: RunStats) -> tuple[list[tuple[str, str]], list[ViewTable]]:
        r = _report(stats)
        win = r.get("window", {})
        rows = [
            ("events produced", f"{self.produced:,}"),
            ("labels learned", f"{r.get('learned', 0):,}"),
            ("accuracy (since start)", _fmt(r.get("accuracy"))),
            ("accuracy (last 1,000)", _fmt(win.get("accuracy"))),
            ("macro F1 (last 1,000)", _fmt(win.get("macro_f1"))),
            ("events waiting for labels", f"{r.get('pending_events', 0):,}"),
            ("labels waiting for events", f"{r.get('waiting_labels', 0):,}"),
            (
                "expired / duplicate labels",
                f"{r.get('expired_labels', 0):,} / {r.get('duplicate_labels', 0):,}",
            ),
            ("model updates", f"{r.get('model_updates', 0):,}"),
            ("dead-lettered", f"{stats.dead_lettered:,}"),
        ]
        table = ViewTable(
            "per class (since start)", ("class", "precision", "recall", "F1", "support")
        )
        for label, m in sorted(r.get("per_class", {}).items()):
            table.rows.append(
                (label, _fmt(m["precision"]), _fmt(m["recall"]), _fmt(m["f1"]), f"{m['support']:,}")
            )
        return rows, [table]

    def summary(self, stats: RunStats) -> dict[str, Any]:
        r = _report(stats)
        out = {
            "records_in": stats.records_in,
            "predictions_out": stats.records_out,
            "labels": r.get("labels", 0),
            "learned": r.get("learned", 0),
            "accuracy": r.get("accuracy"),
            "accuracy_window": r.get("window", {}).get("accuracy"),
            "macro_f1": r.get("macro_f1"),
            "pending_events": r.get("pending_events", 0),
            "waiting_labels": r.get("waiting_labels", 0),
            "dead_lettered": stats.dead_lettered,
        }
        if out["accuracy"] is None:
            out["accuracy_note"] = (
                "no event was predicted by a model that had learned a label yet (every "
                "event came before the first label was learned): run with more --records"
            )
        return out


def _report(stats: RunStats | None) -> dict[str, Any]:
    if stats is None or not stats.metrics:
        return {}
    return next((v for k, v in stats.metrics.items() if k.startswith("model[")), {})


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)
