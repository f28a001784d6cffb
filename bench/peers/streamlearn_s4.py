"""Scenario S4 (online half) with streamlearn: predict each event now, learn on its label.

The pipeline of the issue through the public API: JSON events decoded with a schema,
``sl.ml.online_classifier`` with a passive-aggressive learner and the labels topic as
its feedback source, predictions out as JSON.
"""

import argparse
import json
import os
import threading
import time

import streamlearn as sl
from streamlearn.kafka.config import KafkaConfig


def combined(metrics: dict) -> dict:
    """The learner's report summed over partitions (metrics are keyed ``pa[<partition>]``)."""
    parts = [r for k, r in metrics.items() if k == "pa" or k.startswith("pa[")]
    out = {
        k: sum(r.get(k, 0) for r in parts)
        for k in (
            "events",
            "labels",
            "learned",
            "pending_events",
            "waiting_labels",
            "model_updates",
        )
    }
    n = sum(r.get("n") or 0 for r in parts)
    out["accuracy"] = (
        sum((r.get("accuracy") or 0.0) * (r.get("n") or 0) for r in parts) / n if n else None
    )
    out["partitions"] = len(parts)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--labels", "--output", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--features", type=int, required=True)
    args = ap.parse_args()
    feats = [f"f{j}" for j in range(args.features)]
    p = (
        sl.read.from_kafka(args.input)
        | sl.decode.json({"event_id": "string", **dict.fromkeys(feats, "float")})
        | sl.ml.online_classifier(
            feats,
            model=sl.ml.PassiveAggressive(C=0.1),
            id="event_id",
            feedback=sl.read.from_kafka(args.labels),
            label="y",
            name="pa",
        )
        | sl.write.to_kafka(args.output, columns=["event_id", "prediction", "model_updates"])
    )
    runner = sl.Runner(
        p,
        kafka=KafkaConfig.for_local_broker(args.bootstrap),
        options=sl.RunOptions(name=args.group, max_records=2 * args.events),
    )
    peak = {"pending_events": 0, "waiting_labels": 0}
    done = threading.Event()

    def sample() -> None:  # how far one topic runs ahead of the other, every 50 ms
        while not done.wait(0.05):
            ctx = getattr(runner, "ctx", None)  # live metrics (stats.metrics lags 0.5 s)
            report = combined(dict(ctx.metrics if ctx is not None else runner.stats.metrics))
            for k in peak:
                peak[k] = max(peak[k], report.get(k, 0))

    threading.Thread(target=sample, daemon=True).start()
    profile = os.environ.get("S4_PROFILE")
    if profile:
        import cProfile

        prof = cProfile.Profile()
        stats = prof.runcall(runner.run)
        prof.dump_stats(profile)
    else:
        stats = runner.run()
    done.set()
    # from the first consumed batch to the end (group join excluded, as for the peers)
    elapsed = time.monotonic() - (stats.first_record_at or stats.started_at)
    report = combined(stats.metrics)
    print(
        json.dumps(
            {
                "events": report["events"],
                "labels": report["labels"],
                "learned": report["learned"],
                "records": stats.records_in,
                "out": stats.records_out,
                "dead_lettered": stats.dead_lettered,
                "elapsed_s": elapsed,
                "eps": report["events"] / elapsed,
                "accuracy": report["accuracy"],
                "pending_events": report["pending_events"],
                "waiting_labels": report["waiting_labels"],
                "max_pending_events": peak["pending_events"],
                "max_waiting_labels": peak["waiting_labels"],
                "model_updates": report["model_updates"],
                "max_batch_rows": stats.max_batch_rows,
                "batches": stats.batches,
            }
        )
    )


if __name__ == "__main__":
    main()
