"""Paced producer of the latency benchmark: S1 trades at a fixed rate, each record keyed
by its send time (``time.time_ns()`` as ASCII digits) so a consumer downstream can
measure now - sent on every record that comes out (pipelines keep the input key).

Sends from ``--start-at`` (epoch seconds, or read from stdin after printing ``ready``)
for ``--seconds`` at ``--rate`` records/s, in chunks of whatever is due (about every
1 ms), then flushes. Last stdout line: JSON.
"""

import argparse
import json
import sys
import time

from confluent_kafka import Producer

from streamlearn.datasets.synth.trades import generate_trades


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument(
        "--start-at",
        type=float,
        default=None,
        help="epoch seconds; default: print ready, then read it from stdin",
    )
    ap.add_argument("--linger-ms", type=float, default=5.0)
    args = ap.parse_args()
    total = int(args.rate * args.seconds)
    pool = generate_trades(min(total, 200_000), seed=7)
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "linger.ms": args.linger_ms,
            "queue.buffering.max.messages": 1_000_000,
            "log.connection.close": False,
        }
    )
    producer.list_topics(args.topic, timeout=10)  # connected before the clock starts
    sent, behind_max, n_pool = 0, 0.0, len(pool)
    if args.start_at is None:  # set up (imports, data, connection): the clock starts now
        print("ready", flush=True)
        args.start_at = float(sys.stdin.readline())
    while time.time() < args.start_at:
        time.sleep(0.001)
    t0 = args.start_at
    while sent < total:
        now = time.time()
        due = min(total, int((now - t0) * args.rate) + 1)
        if due > sent:
            behind_max = max(behind_max, (due - sent) / args.rate)
            key = str(time.time_ns()).encode()
            for i in range(sent, due):
                while True:
                    try:
                        producer.produce(args.topic, pool[i % n_pool], key)
                        break
                    except BufferError:
                        producer.poll(0.001)
            sent = due
        producer.poll(0)
        nxt = t0 + sent / args.rate
        pause = nxt - time.time()
        if pause > 0:
            time.sleep(min(pause, 0.001))
    elapsed = time.time() - t0
    left = producer.flush(30)
    print(
        json.dumps(
            {
                "sent": sent,
                "undelivered": left,
                "elapsed_s": round(elapsed, 3),
                "achieved_rate": round(sent / elapsed),
                "max_behind_ms": round(behind_max * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
