"""Benchmark of model serving: streamlearn's ``sl.ml.predict`` (ONNX, from the registry)
vs raw passthrough vs Quix Streams + scikit-learn per record vs ONNX Runtime per record.

    python bench/serving.py --records 500000 --json

Generates a house data set with a known price function (tests/serve/houses.py), trains
a 200-tree gradient-boosting regressor (depth 3) with scikit-learn, converts it to ONNX
with skl2onnx and pushes it to the registry; the JSON houses are produced up front to
one topic (``--partitions``). Variants, each its own process reading the topic from the
start: (a) raw confluent-kafka passthrough (bench/peers/passthrough.py), the practical
ceiling; (b) streamlearn: ``decode.json`` -> ``ml.predict`` -> ``to_kafka``, with v2 of
the model pushed when half the records are in (the longest pause between two output
batches from the push to 2 s after is ``swap_gap_ms``); (c) Quix Streams 3.28 with the
scikit-learn model's ``predict`` per record, in its own virtual environment; (d) a
consumer loop calling ONNX Runtime per record. The per-record peers are slow, so they
read the first ``--peer-records`` records (default 50,000; their rate is steady). The
last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from _common import machine, produce, quix_python, run_variant  # noqa: E402
from streamlearn.kafka.local_broker import LocalBroker  # noqa: E402


def quix_sklearn_python() -> str:
    """The Quix environment of bench/_common.py, with scikit-learn (this one's version)."""
    import sklearn

    py = quix_python()
    if subprocess.run([py, "-c", "import sklearn"], capture_output=True).returncode != 0:
        subprocess.run(
            [py, "-m", "pip", "install", "-q", f"scikit-learn=={sklearn.__version__}"], check=True
        )
    return py


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--peer-records", type=int, default=50_000)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--json", action="store_true", help="only the JSON result on stdout")
    ap.add_argument("--skip-quix", action="store_true")
    args = ap.parse_args()
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    import numpy as np
    from tests.serve.houses import FEATURES, houses, onnx_bytes, records, trained

    import streamlearn as sl
    from streamlearn.kafka.config import KafkaConfig

    m1, m2 = trained(args.trees, 3), trained(args.trees, 3, seed=1)
    tmp = Path(tempfile.mkdtemp(prefix="sl-serving-"))
    (tmp / "v1.onnx").write_bytes(onnx_bytes(m1))
    (tmp / "v2.onnx").write_bytes(onnx_bytes(m2))
    (tmp / "v1.pkl").write_bytes(pickle.dumps(m1))
    stream = houses(args.records, seed=99)
    values = records(stream)
    keys = [str(i).encode() for i in range(args.records)]
    with LocalBroker() as broker:
        tag = uuid.uuid4().hex[:6]
        topic, control, arts = f"houses-{tag}", f"models-{tag}", f"arts-{tag}"
        kafka = KafkaConfig.for_local_broker(broker.bootstrap)
        reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
        reg.push(
            str(tmp / "v1.onnx"),
            name="house-price",
            alias="champion",
            signature=FEATURES,
            profile=stream.select(FEATURES).head(10_000),
        )
        log(f"producing {args.records:,} houses to {topic} on {broker.bootstrap}")
        produce(broker.bootstrap, topic, values, keys, args.partitions)
        del values
        common = ["--bootstrap", broker.bootstrap, "--input", topic]

        def variant(label: str, cmd: list[str], n: int) -> dict:
            t = uuid.uuid4().hex[:6]
            res = run_variant(
                cmd
                + common
                + ["--records", str(n), "--output", f"{label}-out-{t}", "--group", f"{label}-{t}"]
            )
            log(f"{label:18s} {res['rps']:>12,.0f} records/s  peak RSS {res['peak_rss_mb']} MB")
            return res

        py = sys.executable
        res = {
            "passthrough": variant(
                "passthrough", [py, str(HERE / "peers/passthrough.py")], args.records
            ),
            "streamlearn": variant(
                "streamlearn",
                [
                    py,
                    str(HERE / "peers/streamlearn_serving.py"),
                    "--control",
                    control,
                    "--artifacts",
                    arts,
                    "--swap-model",
                    str(tmp / "v2.onnx"),
                ],
                args.records,
            ),
            "onnx_per_record": variant(
                "onnx_per_record",
                [py, str(HERE / "peers/onnx_per_record.py"), "--model", str(tmp / "v1.onnx")],
                min(args.peer_records, args.records),
            ),
        }
        if not args.skip_quix:
            res["quix"] = variant(
                "quix",
                [
                    quix_sklearn_python(),
                    str(HERE / "peers/quix_serving.py"),
                    "--model",
                    str(tmp / "v1.pkl"),
                ],
                min(args.peer_records, args.records),
            )
    s, p, q, o = res["streamlearn"], res["passthrough"], res.get("quix"), res["onnx_per_record"]
    print(
        json.dumps(
            {
                "records": args.records,
                "peer_records": min(args.peer_records, args.records),
                "passthrough_rps": round(p["rps"]),
                "streamlearn_rps": round(s["rps"]),
                "quix_rps": round(q["rps"]) if q else None,
                "onnx_per_record_rps": round(o["rps"]),
                "ratio_vs_passthrough": round(s["rps"] / p["rps"], 3),
                "ratio_vs_quix": round(s["rps"] / q["rps"], 1) if q else None,
                "ratio_vs_onnx_per_record": round(s["rps"] / o["rps"], 1),
                "p50_batch_latency_ms": round(s["p50_batch_latency_ms"], 2),
                "p99_batch_latency_ms": round(s["p99_batch_latency_ms"], 2),
                "p99_gap_between_batches_ms": round(s["p99_gap_between_batches_ms"], 2),
                "swap_gap_ms": round(s["swap_gap_ms"], 2) if s.get("swap_gap_ms") else None,
                "swap_push_s": round(s.get("swap_push_s", 0), 3),
                "scored_by_version": s["versions"],
                "max_batch_rows": s["max_batch_rows"],
                "model": {
                    "trees": args.trees,
                    "depth": 3,
                    "onnx_bytes": (tmp / "v1.onnx").stat().st_size,
                    "features": len(FEATURES),
                },
                "peak_rss_mb": {k: v["peak_rss_mb"] for k, v in res.items()},
                "partitions": args.partitions,
                "machine": machine(),
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
