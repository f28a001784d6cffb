"""Scenario S1 written idiomatically with Quix Streams 3.28 and River's KMeans, per record.

What a Python user would reach for today: JSON in, cast the fields, River
``cluster.KMeans`` (buffer the first 1000 records, start the model from them, then predict
and learn each record), keep cluster 0, JSON out. River's KMeans starts its centres at
random around ``mu`` with spread ``sigma`` (defaults 0 and 1); set from the mean and
spread of the buffer, it finds the three clusters and cluster 0 gets a third of the
records (as in the streamlearn pipeline). With the defaults (or the doc example's
``sigma=3``) every record lands in one cluster on this data and the filter passes
nothing, so the peer would skip producing.
Runs in its own virtual environment (bench/_common.py).

By default it gets the same tuned librdkafka consumer settings as the other variants
(bench/_common.py ``consumer_settings``); ``--quix-defaults`` runs it exactly as a user
who writes it idiomatically would: Quix Streams' own consumer and producer settings.
"""

import argparse
import datetime as dt
import json
import statistics
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
    ap.add_argument(
        "--quix-defaults",
        action="store_true",
        help="Quix Streams' own client settings instead of the tuned ones",
    )
    args = ap.parse_args()
    if args.quix_defaults:
        tuning: dict = {}
    else:
        extra = {
            k: v
            for k, v in consumer_settings(args.bootstrap, args.group).items()
            if k not in ("bootstrap.servers", "group.id", "auto.offset.reset", "enable.auto.commit")
        }
        tuning = {"consumer_extra_config": extra, "producer_extra_config": {"linger.ms": 5}}
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        use_changelog_topics=False,
        **tuning,
    )
    source = app.topic(args.input, value_deserializer="json")
    sink = app.topic(args.output, value_serializer="json")
    state = {"n": 0, "out": 0, "start": None, "model": None}
    buffer: list[dict] = []

    def score(row: dict) -> dict:
        if state["start"] is None:
            state["start"] = time.perf_counter()
        row["time"] = dt.datetime.fromisoformat(row["time"])
        row["bid"], row["ask"] = float(row["bid"]), float(row["ask"])
        x = {"bid": row["bid"], "ask": row["ask"]}
        model = state["model"]
        if model is None:
            row["cluster"] = -1
            buffer.append(x)
            if len(buffer) == args.buffer_size:
                values = [v for point in buffer for v in point.values()]
                model = state["model"] = cluster.KMeans(
                    n_clusters=3,
                    halflife=0.5,
                    mu=statistics.fmean(values),
                    sigma=statistics.pstdev(values),
                    seed=0,
                )
                for point in buffer:
                    model.learn_one(point)
        else:
            row["cluster"] = model.predict_one(x)
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
    print(
        json.dumps(
            {
                "records": state["n"],
                "out": state["out"],
                "elapsed_s": elapsed,
                "rps": state["n"] / elapsed,
            }
        )
    )


if __name__ == "__main__":
    main()
