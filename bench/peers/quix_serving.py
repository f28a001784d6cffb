"""Serving the way a Python user does it today: Quix Streams 3.28, the scikit-learn
model's ``predict`` called once per record. Runs in its own virtual environment.

The model file is a pickle written by bench/serving.py in the same run (a local file
we made, never bytes from a topic)."""

import argparse
import json
import pickle
import time

from quixstreams import Application


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--output", "--group", "--model"):
        ap.add_argument(a, required=True)
    ap.add_argument("--records", type=int, required=True)
    args = ap.parse_args()
    with open(args.model, "rb") as f:
        model = pickle.load(f)
    feats = ["rooms", "area", "age", "distance"]
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        consumer_extra_config={
            "fetch.queue.backoff.ms": 10,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        },
        producer_extra_config={"linger.ms": 5},
        use_changelog_topics=False,
    )
    src = app.topic(args.input, value_deserializer="json")
    sink = app.topic(args.output, value_serializer="json")
    s = {"seen": 0, "start": None}

    def score(row: dict) -> dict:
        if s["start"] is None:
            s["start"] = time.perf_counter()
        row["price"] = float(model.predict([[row[f] for f in feats]])[0])
        s["seen"] += 1
        if s["seen"] >= args.records:
            app.stop()
        return row

    app.dataframe(src).apply(score).to_topic(sink)
    app.run()
    elapsed = time.perf_counter() - s["start"]
    print(json.dumps({"records": s["seen"], "elapsed_s": elapsed, "rps": s["seen"] / elapsed}))


if __name__ == "__main__":
    main()
