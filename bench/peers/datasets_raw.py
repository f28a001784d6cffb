"""Raw confluent-kafka baselines of the datasets benchmark (no streamlearn code).

``--mode consume``: the consume-only limit (assign, consume in batches, touch nothing);
``--mode json``: what users write to load a topic into NumPy: ``json.loads`` per record,
a list of rows, ``np.array`` at the end. Both read ``--records`` records of partition 0.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from confluent_kafka import Consumer, TopicPartition

from _common import consumer_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--mode", choices=("consume", "json"), required=True)
    ap.add_argument("--features", required=True, help="comma-separated")
    ap.add_argument("--label", required=True)
    args = ap.parse_args()
    features = args.features.split(",")
    start = time.perf_counter()
    consumer = Consumer(consumer_settings(args.bootstrap, args.group))
    consumer.assign([TopicPartition(args.input, 0, 0)])
    seen = 0
    rows: list = []
    labels: list = []
    while seen < args.records:
        msgs = consumer.consume(num_messages=50_000, timeout=0.5)
        if args.mode == "consume":
            seen += sum(1 for m in msgs if m.error() is None)
            continue
        for m in msgs:
            if m.error() is not None:
                continue
            d = json.loads(m.value())
            rows.append([d[f] for f in features])
            labels.append(d[args.label])
            seen += 1
    if args.mode == "json":
        x = np.array(rows, dtype=np.float64)
        y = np.array(labels)
        assert x.shape == (seen, len(features)) and len(y) == seen
    elapsed = time.perf_counter() - start
    consumer.close()
    print(json.dumps({"records": seen, "elapsed_s": elapsed, "rps": seen / elapsed}))


if __name__ == "__main__":
    main()
