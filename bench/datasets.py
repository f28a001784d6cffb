"""Benchmark of the bounded dataset: a topic into a NumPy array, vs what users write.

    python bench/datasets.py --records 1000000 --json

Produces SUSY-like JSON records (18 features and a label, ~390 bytes each;
``streamlearn.datasets.synth.susy``) into a fresh one-partition topic of a local broker,
then runs each variant as its own process over it, reading from the start: (a) the
consume-only limit (raw confluent-kafka, records untouched); (b) the loop users write
(``json.loads`` per record, rows into ``np.array``); (c) streamlearn's
``sl.datasets.from_kafka(..., end="now").to_numpy(features, label)``, decoding included.
Throughput counts the records from making the consumer to the array being ready; peak
RSS is sampled every 50 ms. Variants run ``--repeat`` times interleaved (the machine is
shared and noisy) and the median run of each is reported. The last line of stdout is one
JSON object. Target (issue 11): streamlearn >= 0.8 x consume-only.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import machine, produce, run_variant  # noqa: E402
from streamlearn.datasets.synth.susy import SUSY_FEATURES, generate_susy  # noqa: E402
from streamlearn.kafka.local_broker import LocalBroker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true", help="only the JSON result on stdout")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each variant (median kept)")
    args = ap.parse_args()
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    n = args.records
    with LocalBroker() as broker:
        topic = f"susy-{uuid.uuid4().hex[:6]}"
        log(f"producing {n:,} SUSY-like records to {topic} on {broker.bootstrap}")
        values = generate_susy(n, seed=7)
        # the last record alone in its batch: Tansu's high watermark (the first offset of
        # the last batch + 1, BROKERS.md) is then the log end, as Kafka's is
        produce(broker.bootstrap, topic, values[:-1])
        produce(broker.bootstrap, topic, values[-1:])
        common = [
            "--bootstrap", broker.bootstrap, "--input", topic, "--records", str(n),
            "--features", ",".join(SUSY_FEATURES), "--label", "label",
        ]  # fmt: skip
        py = sys.executable
        variants = {
            "consume_only": [py, str(HERE / "peers/datasets_raw.py"), "--mode", "consume"],
            "json_loop": [py, str(HERE / "peers/datasets_raw.py"), "--mode", "json"],
            "streamlearn": [py, str(HERE / "peers/datasets_streamlearn.py")],
        }
        runs: dict[str, list[dict]] = {}
        for _ in range(max(1, args.repeat)):
            for label, cmd in variants.items():
                res = run_variant([*cmd, *common, "--group", f"{label}-{uuid.uuid4().hex[:6]}"])
                log(f"{label:13s} {res['rps']:>12,.0f} rows/s  peak RSS {res['peak_rss_mb']} MB")
                runs.setdefault(label, []).append(res)
    best = {k: sorted(v, key=lambda r: r["rps"])[(len(v) - 1) // 2] for k, v in runs.items()}
    s, c, j = (best[k]["rps"] for k in ("streamlearn", "consume_only", "json_loop"))
    print(
        json.dumps(
            {
                "records": n,
                "streamlearn_rps": round(s),
                "consume_only_rps": round(c),
                "json_loop_rps": round(j),
                "ratio_vs_consume": round(s / c, 3),
                "ratio_vs_json_loop": round(s / j, 2),
                "peak_rss_mb": {k: best[k]["peak_rss_mb"] for k in best},
                "runs_rps": {k: [round(r["rps"]) for r in v] for k, v in runs.items()},
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
