"""Scenario S4 (online half) written idiomatically with Quix Streams 3.28 and River, per record.

One Application, two StreamingDataFrames (events, labels) over co-partitioned topics
keyed by the event id. On an event: River ``linear_model.PAClassifier`` (binary; wrapped
in ``multiclass.OneVsRestClassifier`` for more classes) predicts, ``{x, prediction}`` is
stored in a Python dict keyed by the event id, the prediction goes to the output topic.
On a label: the stored event is looked up, the prequential accuracy updated, the model
learns, the entry is deleted. A label that comes before its event waits in a second dict
and is applied right after the event's prediction, as streamlearn does. A plain dict
rather than Quix's RocksDB ``State``: the model is one global object anyway, and a dict
is the faster of the two. Runs in its own virtual environment (bench/_common.py).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from quixstreams import Application
from river import linear_model, multiclass

from _common import consumer_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--labels", "--output", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--features", type=int, required=True)
    ap.add_argument("--classes", type=int, default=2)
    args = ap.parse_args()
    extra = {
        k: v
        for k, v in consumer_settings(args.bootstrap, args.group).items()
        if k not in ("bootstrap.servers", "group.id", "auto.offset.reset", "enable.auto.commit")
    }
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        consumer_extra_config=extra,
        producer_extra_config={"linger.ms": 5},
        use_changelog_topics=False,
    )
    events_topic = app.topic(args.input, value_deserializer="json")
    labels_topic = app.topic(args.labels, value_deserializer="json")
    sink = app.topic(args.output, value_serializer="json")
    binary = args.classes == 2
    model = (
        linear_model.PAClassifier(C=0.1, mode=1)
        if binary
        else multiclass.OneVsRestClassifier(linear_model.PAClassifier(C=0.1, mode=1))
    )
    feats = [f"f{j}" for j in range(args.features)]
    pending: dict[str, tuple[dict, object]] = {}  # event_id -> (x, prediction)
    early: dict[str, object] = {}  # event_id -> label that came first
    s = {
        "seen": 0,
        "events": 0,
        "labels": 0,
        "learned": 0,
        "correct": 0,
        "scored": 0,
        "start": None,
        "max_pending": 0,
        "max_early": 0,
    }
    total = 2 * args.events

    def tick() -> None:
        if s["start"] is None:
            s["start"] = time.perf_counter()
        s["seen"] += 1
        if s["seen"] >= total:
            app.stop()

    def learn(eid: str, x: dict, pred: object, y: object) -> None:
        s["scored"] += 1
        s["correct"] += pred == y
        model.learn_one(x, y)
        s["learned"] += 1

    def on_event(row: dict) -> dict:
        tick()
        s["events"] += 1
        eid = row["event_id"]
        x = {f: row[f] for f in feats}
        pred = model.predict_one(x)
        y = early.pop(eid, None)
        if y is None:
            pending[eid] = (x, pred)
            if len(pending) > s["max_pending"]:
                s["max_pending"] = len(pending)
        else:
            learn(eid, x, pred, y)
        return {
            "event_id": eid,
            "prediction": int(pred) if pred is not None else None,
            "model_updates": s["learned"],
        }

    def on_label(row: dict) -> None:
        tick()
        s["labels"] += 1
        eid = row["event_id"]
        y = bool(row["y"]) if binary else row["y"]
        stored = pending.pop(eid, None)
        if stored is None:
            early[eid] = y
            if len(early) > s["max_early"]:
                s["max_early"] = len(early)
        else:
            learn(eid, stored[0], stored[1], y)

    app.dataframe(events_topic).apply(on_event).to_topic(sink)
    app.dataframe(labels_topic).update(on_label)
    app.run()
    elapsed = time.perf_counter() - s["start"]
    print(
        json.dumps(
            {
                "events": s["events"],
                "labels": s["labels"],
                "learned": s["learned"],
                "records": s["seen"],
                "elapsed_s": elapsed,
                "eps": s["events"] / elapsed,
                "accuracy": s["correct"] / max(1, s["scored"]),
                "pending_events": len(pending),
                "waiting_labels": len(early),
                "max_pending_events": s["max_pending"],
                "max_waiting_labels": s["max_early"],
            }
        )
    )


if __name__ == "__main__":
    main()
