"""Measuring consumer of the latency benchmark: reads a topic, and for every record
whose key is a send time (``time.time_ns()`` digits, see latency_producer.py) records
now - sent, with ``now`` taken when ``consume()`` returns the record.

Prints ``ready`` on stdout once it has its partitions, ``flowing`` once a first record
arrived (see latency.py ``prime``), then, at the end, one JSON line:
percentiles over the records sent in [--from-s, --until-s) (epoch seconds; the ones
before are the warm-up), the p50 of the first and of the last quarter of that span (a
pipeline that cannot hold the rate has a growing lag: its last quarter is far slower),
and whether the last records came out before the deadline (--until-s + --grace-s).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from confluent_kafka import Consumer

from _common import consumer_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument(
        "--from-s",
        type=float,
        default=None,
        help="default: read '<from> <until>' from stdin after printing ready",
    )
    ap.add_argument("--until-s", type=float, default=None)
    ap.add_argument("--grace-s", type=float, default=10.0)
    ap.add_argument("--fetch-wait-ms", type=int, default=10)
    args = ap.parse_args()
    conf = consumer_settings(args.bootstrap, args.group)
    conf.update({"fetch.wait.max.ms": args.fetch_wait_ms, "log.connection.close": False})
    consumer = Consumer(conf)

    def assigned(c, parts):
        print("ready", flush=True)

    consumer.subscribe([args.topic], on_assign=assigned)
    while consumer.assignment() == []:  # join the group before the span is known
        consumer.consume(num_messages=1, timeout=0.1)
    # before the span is known: the orchestrator primes the pipeline (records keyed 0)
    if args.from_s is None:
        while not consumer.consume(num_messages=10_000, timeout=0.1):
            pass
        print("flowing", flush=True)
        args.from_s, args.until_s = map(float, sys.stdin.readline().split())
    lo, hi = int(args.from_s * 1e9), int(args.until_s * 1e9)
    deadline = args.until_s + args.grace_s
    last_wanted = hi - 50_000_000  # a record sent in the last 50 ms: the end has come out
    sent_l, lat_l = [], []
    done = False
    while not done and time.time() < deadline:
        # consume(n, timeout) waits until n records or the timeout: what is queued at
        # once, else block for the first record only (as streamlearn's BatchReader does)
        msgs = consumer.consume(num_messages=10_000, timeout=0) or consumer.consume(
            num_messages=1, timeout=0.05
        )
        now = time.time_ns()
        if not msgs:
            continue
        keys = [m.key() for m in msgs if m.error() is None]
        sent = np.array([int(k) for k in keys if k is not None], dtype=np.int64)
        if not len(sent):
            continue
        sent_l.append(sent)
        lat_l.append(now - sent)
        done = bool(sent.max() >= last_wanted)
    consumer.close()
    sent = np.concatenate(sent_l) if sent_l else np.zeros(0, np.int64)
    lat = (np.concatenate(lat_l) if lat_l else np.zeros(0, np.int64)) / 1e6
    keep = (sent >= lo) & (sent < hi)
    s, lat = sent[keep], lat[keep]
    out = {"complete": done, "n": len(lat), "warmup_n": int((sent < lo).sum())}
    if len(lat):
        q = (hi - lo) / 4
        first, last = lat[s < lo + q], lat[s >= hi - q]
        out.update(
            {
                "p50_ms": round(float(np.percentile(lat, 50)), 1),
                "p90_ms": round(float(np.percentile(lat, 90)), 1),
                "p99_ms": round(float(np.percentile(lat, 99)), 1),
                "max_ms": round(float(lat.max()), 1),
                "first_quarter_p50_ms": round(float(np.median(first)), 1) if len(first) else None,
                "last_quarter_p50_ms": round(float(np.median(last)), 1) if len(last) else None,
            }
        )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
