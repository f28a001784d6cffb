"""Scenario S4 (online learning with delayed feedback): the demo stream and pipeline.

Events ``{event_id, f0..f7}`` are drawn from one Gaussian blob per class; the label
``{event_id, y}`` of each event arrives a random 0-200 records after it, as feedback
from the real world would. Both topics are keyed by the event id, so they are
co-partitioned. Used by ``streamlearn demo --scenario s4``.
"""

from __future__ import annotations

import numpy as np
import orjson

import streamlearn as sl
from streamlearn.core.pipeline import Pipeline

FEATURES = [f"f{i}" for i in range(8)]
CLASSES = ["buy", "hold", "sell"]
#: where each class's blob sits (fixed, so every chunk of the stream agrees)
CENTERS = np.random.default_rng(2024).normal(0.0, 1.6, (len(CLASSES), len(FEATURES)))


def arrival_order(n: int, *, start: int = 0, seed: int = 0, max_delay: int = 200
                  ) -> list[tuple[str, bytes, bytes]]:
    """``n`` events and their labels as ``(kind, key, value)`` in arrival order, kind
    being ``"event"`` or ``"label"``; ids run from ``start``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    X = CENTERS[y] + rng.normal(0.0, 1.0, (n, len(FEATURES)))
    at = np.arange(n, dtype=np.float64)
    label_at = at + rng.integers(0, max_delay + 1, n) + 0.5
    out: list[tuple[float, str, bytes, bytes]] = []
    for i, (row, cls) in enumerate(zip(X.round(4).tolist(), y.tolist(), strict=True)):
        eid = f"e{start + i}"
        key = eid.encode()
        event = {"event_id": eid, **dict(zip(FEATURES, row, strict=True))}
        out.append((at[i], "event", key, orjson.dumps(event)))
        out.append((label_at[i], "label", key,
                    orjson.dumps({"event_id": eid, "y": CLASSES[cls]})))
    out.sort(key=lambda s: s[0])
    return [(kind, key, value) for _, kind, key, value in out]


def s4_pipeline(events: str = "events", labels: str = "labels", out: str = "predictions",
                *, metrics_topic: str | None = "metrics", C: float = 0.1) -> Pipeline:
    """Events -> online passive-aggressive classifier (labels from ``labels``) -> out."""
    return (sl.read.from_kafka(events)
            | sl.decode.json({"event_id": "string", **dict.fromkeys(FEATURES, "float")})
            | sl.ml.online_classifier(FEATURES, id="event_id", label="y", name="model",
                                      model=sl.ml.PassiveAggressive(C=C,
                                                                    multiclass="multiclass"),
                                      feedback=sl.read.from_kafka(labels),
                                      metrics_topic=metrics_topic)
            | sl.write.to_kafka(out, columns=["event_id", "prediction", "score",
                                              "model_updates"]))
