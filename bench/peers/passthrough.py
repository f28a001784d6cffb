"""Raw confluent-kafka passthrough: batch consume, produce every value unchanged.

The practical ceiling of any Python pipeline on this broker and machine.
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
    for a in ("--bootstrap", "--input", "--output", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--records", type=int, required=True)
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
    consumer.subscribe([args.input])
    seen = out = 0
    start = None
    while seen < args.records:
        msgs = consumer.consume(num_messages=10_000, timeout=0.5)
        if not msgs:
            continue
        start = start or time.perf_counter()
        for m in msgs:
            if m.error() is not None:
                continue
            while True:
                try:
                    producer.produce(args.output, m.value(), m.key())
                    break
                except BufferError:
                    producer.poll(0.01)
            out += 1
        seen += len(msgs)
        producer.poll(0)
    producer.flush(60)
    elapsed = time.perf_counter() - start
    consumer.close()
    print(json.dumps({"records": seen, "out": out, "elapsed_s": elapsed, "rps": seen / elapsed}))


if __name__ == "__main__":
    main()
