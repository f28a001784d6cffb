"""Serving with streamlearn: JSON houses in, ``sl.ml.predict`` (ONNX, from the registry),
JSON out; optionally a new version pushed mid-run (the swap gap is measured).

Batch latency is the time from a batch entering the pipeline (a marker before decoding)
to leaving the sink step (a marker after ``to_kafka``): processing only, no fetch wait.
"""

import argparse
import itertools
import json
import threading
import time

import numpy as np

import streamlearn as sl
from streamlearn.kafka.config import KafkaConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--output", "--group", "--control", "--artifacts"):
        ap.add_argument(a, required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--swap-model", default=None, help="an .onnx file pushed mid-run")
    args = ap.parse_args()
    kafka = KafkaConfig.for_local_broker(args.bootstrap)
    starts: list[float] = []
    ends: list[tuple[float, int]] = []

    def enter(df):
        starts.append(time.perf_counter())
        return df

    def leave(df):
        ends.append((time.perf_counter(), df.height))
        return df

    feats = ["rooms", "area", "age", "distance"]
    p = (
        sl.read.from_kafka(args.input)
        | sl.map(enter)
        | sl.decode.json({"id": "int", **dict.fromkeys(feats, "float")})
        | sl.ml.predict(
            "house-price",
            features=feats,
            output="price",
            topic=args.control,
            artifact_topic=args.artifacts,
        )
        | sl.write.to_kafka(args.output)
        | sl.map(leave)
    )
    runner = sl.Runner(
        p, kafka=kafka, options=sl.RunOptions(name=args.group, max_records=args.records)
    )
    swap = {}

    def pusher() -> None:
        while runner.stats.records_in < args.records // 2:
            time.sleep(0.005)
        reg = sl.registry.Registry(kafka, topic=args.control, artifact_topic=args.artifacts)
        t = time.perf_counter()
        v = reg.push(args.swap_model, name="house-price", alias="champion", signature=feats)
        swap.update(pushed_at=t, push_s=time.perf_counter() - t, version=v.version)

    if args.swap_model:
        threading.Thread(target=pusher, daemon=True).start()
    stats = runner.run()
    elapsed = time.monotonic() - (stats.first_record_at or stats.started_at)
    lat = np.array([e - s for s, (e, _) in zip(starts, ends, strict=False)]) * 1000
    gaps = np.diff([e for e, _ in ends]) * 1000
    out = {
        "records": stats.records_in,
        "out": stats.records_out,
        "elapsed_s": elapsed,
        "rps": stats.records_in / elapsed,
        "batches": len(ends),
        "p50_batch_latency_ms": float(np.percentile(lat, 50)),
        "p99_batch_latency_ms": float(np.percentile(lat, 99)),
        "p99_gap_between_batches_ms": float(np.percentile(gaps, 99)) if len(gaps) else None,
        "max_batch_rows": stats.max_batch_rows,
        "versions": {k: v for k, v in stats.metrics.items() if ".scored." in k},
    }
    if swap:
        # the longest pause between two outputs from the push to 2 s after it
        t0 = swap["pushed_at"]
        times = [e for e, _ in ends]
        around = [b - a for a, b in itertools.pairwise(times) if b >= t0 and a <= t0 + 2.0]
        out.update(
            swap_gap_ms=max(around) * 1000 if around else None,
            swap_push_s=swap["push_s"],
            swap_version=swap["version"],
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
