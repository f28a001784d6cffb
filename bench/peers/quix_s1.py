"""Scenario S1 written idiomatically with Quix Streams 3.28 and River's KMeans, per record.

What a Python user would reach for today: JSON in, cast the fields, River
``cluster.KMeans`` (learn on the first 1000 records, then predict and learn each
record), keep cluster 0, JSON out. Runs in its own virtual environment (bench/_common.py).
"""

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from quixstreams import Application
from river import cluster

from _common import consumer_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--output", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--buffer-size", type=int, default=1000)
    args = ap.parse_args()
    extra = {k: v for k, v in consumer_settings(args.bootstrap, args.group).items()
             if k not in ("bootstrap.servers", "group.id", "auto.offset.reset",
                          "enable.auto.commit")}
    app = Application(broker_address=args.bootstrap, consumer_group=args.group,
                      auto_offset_reset="earliest", consumer_extra_config=extra,
                      producer_extra_config={"linger.ms": 5}, use_changelog_topics=False)
    source = app.topic(args.input, value_deserializer="json")
    sink = app.topic(args.output, value_serializer="json")
    model = cluster.KMeans(n_clusters=3, halflife=0.5, sigma=3, seed=0)
    state = {"n": 0, "out": 0, "start": None}

    def score(row: dict) -> dict:
        if state["start"] is None:
            state["start"] = time.perf_counter()
        row["time"] = dt.datetime.fromisoformat(row["time"])
        row["bid"], row["ask"] = float(row["bid"]), float(row["ask"])
        x = {"bid": row["bid"], "ask": row["ask"]}
        row["cluster"] = model.predict_one(x) if state["n"] >= args.buffer_size else -1
        model.learn_one(x)
        state["n"] += 1
        if state["n"] >= args.records:
            app.stop()
        return row

    def keep(row: dict) -> bool:
        if row["cluster"] == 0:
            state["out"] += 1
            return True
        return False

    sdf = app.dataframe(source)
    sdf = sdf.apply(score).filter(keep)
    sdf = sdf.apply(lambda r: {**r, "time": r["time"].isoformat()})
    sdf.to_topic(sink)
    app.run()
    elapsed = time.perf_counter() - state["start"]
    print(json.dumps({"records": state["n"], "out": state["out"], "elapsed_s": elapsed,
                      "rps": state["n"] / elapsed}))


if __name__ == "__main__":
    main()
