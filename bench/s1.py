"""Benchmark of scenario S1: streamlearn vs raw passthrough vs Quix Streams + River.

    python bench/s1.py --records 500000 --json

Produces the same S1 input (JSON trades) into a fresh topic of one local broker, then
runs each variant as its own process over it, consuming from the start: (a) raw
confluent-kafka passthrough, the practical limit; (b) the streamlearn S1 pipeline
(decode with ``time`` parsed as a timestamp, 5 s timer window, sequential k-means,
DuckDB SQL filter, JSON out); (c) the same logic in Quix Streams 3.28 with River's
``cluster.KMeans`` per record, in its own virtual environment, twice: with the same tuned
consumer settings as the others (``quix_rps``) and with Quix's own defaults, as a user
writing it idiomatically gets it (``quix_default_rps``). Throughput counts
input records from the first consumed batch to the last output flushed; peak RSS is
sampled every 50 ms. The last line of stdout is one JSON object.

The machine is shared and noisy (the same variant varies by +-20% from run to run), so
passthrough and streamlearn run ``--repeat`` times (default 3), interleaved, and the
median run of each is reported, with every run in ``runs_rps``; the slow Quix variants
run ``--quix-repeat`` times (default 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine, produce, quix_python, run_variant  # noqa: E402
from streamlearn.datasets.synth.trades import generate_trades  # noqa: E402
from streamlearn.kafka.local_broker import LocalBroker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--json", action="store_true", help="only the JSON result on stdout")
    ap.add_argument("--skip-quix", action="store_true", help="skip the Quix Streams peer")
    ap.add_argument(
        "--quix-records",
        type=int,
        default=None,
        help="records for the (slow) Quix variant; default: all",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of passthrough and streamlearn, interleaved (median kept)",
    )
    ap.add_argument("--quix-repeat", type=int, default=1, help="runs of each Quix variant")
    args = ap.parse_args()
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    results: dict = {"records": args.records, "machine": machine()}
    with LocalBroker() as broker:
        topic = f"trades-{uuid.uuid4().hex[:6]}"
        log(f"producing {args.records:,} trades to {topic} on {broker.bootstrap}")
        produce(broker.bootstrap, topic, generate_trades(args.records, seed=7))
        common = ["--bootstrap", broker.bootstrap, "--input", topic]

        def variant(label: str, cmd: list[str], records: int) -> dict:
            tag = uuid.uuid4().hex[:6]
            res = run_variant(
                cmd
                + common
                + [
                    "--output",
                    f"{label}-out-{tag}",
                    "--group",
                    f"{label}-{tag}",
                    "--records",
                    str(records),
                ]
            )
            log(f"{label:12s} {res['rps']:>12,.0f} records/s  peak RSS {res['peak_rss_mb']} MB")
            return res

        py = sys.executable
        runs: dict[str, list[dict]] = {}
        for _ in range(max(1, args.repeat)):
            runs.setdefault("passthrough", []).append(
                variant("passthrough", [py, str(HERE / "peers/passthrough.py")], args.records)
            )
            runs.setdefault("streamlearn", []).append(
                variant("streamlearn", [py, str(HERE / "peers/streamlearn_s1.py")], args.records)
            )
        if not args.skip_quix:
            qn = args.quix_records or args.records
            quix = [quix_python(), str(HERE / "peers/quix_s1.py")]
            for _ in range(max(1, args.quix_repeat)):
                runs.setdefault("quix", []).append(variant("quix", quix, qn))
                runs.setdefault("quix_default", []).append(
                    variant("quix_default", [*quix, "--quix-defaults"], qn)
                )
    # the median run of each variant (the lower middle one for an even count)
    results.update(
        {k: sorted(v, key=lambda r: r["rps"])[(len(v) - 1) // 2] for k, v in runs.items()}
    )
    p, s = results["passthrough"]["rps"], results["streamlearn"]["rps"]
    q = results["quix"]["rps"] if "quix" in results else None
    qd = results["quix_default"]["rps"] if "quix_default" in results else None
    summary = {
        "records": args.records,
        "passthrough_rps": round(p),
        "streamlearn_rps": round(s),
        "quix_rps": round(q) if q else None,
        "quix_default_rps": round(qd) if qd else None,
        "ratio_vs_passthrough": round(s / p, 3),
        "ratio_vs_quix": round(s / q, 1) if q else None,
        "ratio_vs_quix_default": round(s / qd, 1) if qd else None,
        "peak_rss_mb": {
            k: results[k]["peak_rss_mb"]
            for k in ("passthrough", "streamlearn", "quix", "quix_default")
            if k in results
        },
        "runs_rps": {k: [round(r["rps"]) for r in v] for k, v in runs.items()},
        "machine": results["machine"],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
