"""Benchmark of scenario S4 (online half): streamlearn vs raw passthrough vs Quix Streams + River.

    python bench/s4.py --events 300000 --json

Generates a binary (``--classes``) Gaussian-blob stream with a known signal (12 features,
seeded NumPy) as events ``{event_id, f0..f11}`` and labels ``{event_id, y}``, each label
a random 0-200 records after its event in arrival order. Both topics are produced up
front, keyed by the event id, with the same partition count (``--partitions``), *in
arrival order*: record by record, interleaved across the two topics as a live source
would have produced them. How far each consumer then reads one topic ahead of the other
is up to its fetches (librdkafka fetches both partitions at once, and a fetch of the
small label records covers more of the stream than one of events): labels that arrive
before their event wait and are applied right after the event has been predicted, in
every variant, so either order gives the same prequential semantics.

Each variant runs as its own process over the same two topics, consuming from the start:
(a) raw confluent-kafka passthrough (consume both topics, produce every event value),
the practical limit; (b) streamlearn: ``decode.json`` with a schema,
``ml.online_classifier`` with ``ml.PassiveAggressive(C=0.1)`` and the labels topic as
feedback, JSON predictions out; (c) Quix Streams 3.28 with River's ``PAClassifier`` per
record, in its own virtual environment. Throughput is events per second from the first
consumed record to the last output flushed (group join excluded); peak RSS is sampled
every 50 ms. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import (  # noqa: E402
    machine,
    produce_interleaved,
    quix_python,
    run_variant,
    s4_stream,
)
from streamlearn.kafka.local_broker import LocalBroker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--features", type=int, default=12)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", action="store_true", help="only the JSON result on stdout")
    ap.add_argument("--skip-quix", action="store_true", help="skip the Quix Streams peer")
    ap.add_argument("--skip-passthrough", action="store_true", help="skip the raw baseline")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every variant this many times (interleaved) over the same topics; "
        "the summary takes each variant's median run and lists all",
    )
    args = ap.parse_args()
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    runs: dict[str, list[dict]] = {}
    records, data = s4_stream(
        args.events, n_features=args.features, n_classes=args.classes, seed=args.seed
    )
    with LocalBroker() as broker:
        tag = uuid.uuid4().hex[:6]
        topics = {"events": f"s4-events-{tag}", "labels": f"s4-labels-{tag}"}
        log(
            f"producing {args.events:,} events and their labels to {topics['events']}, "
            f"{topics['labels']} ({args.partitions} partition(s)) on {broker.bootstrap}"
        )
        produce_interleaved(broker.bootstrap, records, topics, args.partitions)
        del records
        common = [
            "--bootstrap",
            broker.bootstrap,
            "--input",
            topics["events"],
            "--labels",
            topics["labels"],
            "--events",
            str(args.events),
            "--features",
            str(args.features),
        ]

        def variant(label: str, cmd: list[str]) -> dict:
            t = uuid.uuid4().hex[:6]
            res = run_variant(
                cmd + common + ["--output", f"{label}-out-{t}", "--group", f"{label}-{t}"]
            )
            acc = f"  accuracy {res['accuracy']:.4f}" if res.get("accuracy") is not None else ""
            log(f"{label:12s} {res['eps']:>12,.0f} events/s  peak RSS {res['peak_rss_mb']} MB{acc}")
            return res

        py = sys.executable
        cmds = {
            "passthrough": [py, str(HERE / "peers/passthrough_s4.py")],
            "streamlearn": [py, str(HERE / "peers/streamlearn_s4.py")],
        }
        if args.skip_passthrough:
            del cmds["passthrough"]
        if not args.skip_quix:
            cmds["quix"] = [
                quix_python(),
                str(HERE / "peers/quix_s4.py"),
                "--classes",
                str(args.classes),
            ]
        for _ in range(args.repeat):
            for label, cmd in cmds.items():
                runs.setdefault(label, []).append(variant(label, cmd))
    results = {k: sorted(v, key=lambda r: r["eps"])[(len(v) - 1) // 2] for k, v in runs.items()}
    s = results["streamlearn"]
    p, q = results.get("passthrough"), results.get("quix")
    summary = {
        "events": args.events,
        "passthrough_eps": round(p["eps"]) if p else None,
        "streamlearn_eps": round(s["eps"]),
        "quix_eps": round(q["eps"]) if q else None,
        "ratio_vs_passthrough": round(s["eps"] / p["eps"], 3) if p else None,
        "ratio_vs_quix": round(s["eps"] / q["eps"], 1) if q else None,
        "accuracy": round(s["accuracy"], 4) if s["accuracy"] is not None else None,
        "quix_accuracy": round(q["accuracy"], 4) if q else None,
        "learned": s["learned"],
        "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in results.items()},
        # how far a consumer read one topic ahead of the other (peak rows waiting)
        "max_pending_events": {
            k: v["max_pending_events"] for k, v in results.items() if "max_pending_events" in v
        },
        "max_waiting_labels": {
            k: v["max_waiting_labels"] for k, v in results.items() if "max_waiting_labels" in v
        },
        "runs_eps": {k: [round(r["eps"]) for r in v] for k, v in runs.items()},
        "data": {**data, "partitions": args.partitions},
        "machine": machine(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
