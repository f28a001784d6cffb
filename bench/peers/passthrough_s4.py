"""Raw confluent-kafka passthrough over the two S4 topics: batch consume events and labels
from one consumer, produce every event value unchanged, count the labels.

The practical ceiling of any Python pipeline on this broker and machine for S4.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from confluent_kafka import Consumer, Producer

from _common import consumer_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--labels", "--output", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--features", type=int, default=0)  # unused; same CLI as the others
    args = ap.parse_args()
    consumer = Consumer(consumer_settings(args.bootstrap, args.group))
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "linger.ms": 5,
            "batch.num.messages": 100_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
        }
    )
    consumer.subscribe([args.input, args.labels])
    total = 2 * args.events
    seen = events = labels = 0
    start = None
    while seen < total:
        msgs = consumer.consume(num_messages=10_000, timeout=0.5)
        if not msgs:
            continue
        start = start or time.perf_counter()
        for m in msgs:
            if m.error() is not None:
                continue
            seen += 1
            if m.topic() == args.labels:
                labels += 1
                continue
            while True:
                try:
                    producer.produce(args.output, m.value(), m.key())
                    break
                except BufferError:
                    producer.poll(0.01)
            events += 1
        producer.poll(0)
    producer.flush(60)
    elapsed = time.perf_counter() - start
    consumer.close()
    print(
        json.dumps(
            {
                "events": events,
                "labels": labels,
                "records": seen,
                "out": events,
                "elapsed_s": elapsed,
                "eps": events / elapsed,
            }
        )
    )


if __name__ == "__main__":
    main()
