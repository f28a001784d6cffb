"""The window-free S1 pipeline with streamlearn, run until SIGTERM (latency benchmark).

decode -> sequential k-means -> SQL filter (cluster 0) -> Kafka: S1 without its 5 s
timer window (a window holds records on purpose; latency is about everything else).
``--client-option key=value`` passes librdkafka settings (consumer-only and
producer-only keys go to the right client); ``--max-wait-ms`` is the reader's batch wait.
Last stdout line: JSON with the run's counts.
"""

import argparse
import json
import signal

import streamlearn as sl
from streamlearn.data.s1 import TRADES_SCHEMA

try:  # the Kafka modules are being moved from streamlearn.io to streamlearn.kafka
    from streamlearn.kafka.config import KafkaConfig
except ImportError:
    from streamlearn.io.kafka_config import KafkaConfig


def _value(v: str) -> int | float | str:
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--output", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--client-option", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--max-wait-ms", type=float, default=None)
    args = ap.parse_args()
    options = dict(o.split("=", 1) for o in args.client_option)
    kafka = KafkaConfig(bootstrap_servers=args.bootstrap, local=True,
                        client_options={k: _value(v) for k, v in options.items()})
    read = (sl.read.from_kafka(args.input) if args.max_wait_ms is None
            else sl.read.from_kafka(args.input, max_wait_ms=args.max_wait_ms))
    pipeline = (read | sl.decode.json(TRADES_SCHEMA)
                | sl.ml.sequential_k_means(["bid", "ask"], k=3, buffer_size=1000, seed=0,
                                           name="kmeans")
                | sl.sql("select * from $1 where cluster = 0")
                | sl.write.to_kafka(args.output))
    runner = sl.Runner(pipeline, kafka=kafka, options=sl.RunOptions(name=args.group))
    signal.signal(signal.SIGTERM, lambda *_: runner.stop(drain=True))
    stats = runner.run().as_dict()
    print(json.dumps({k: stats.get(k) for k in (
        "records_in", "records_out", "batches", "max_batch_rows", "last_batch_ms",
        "e2e_p50_ms", "e2e_p99_ms", "batch_p50_ms", "batch_p99_ms")}))


if __name__ == "__main__":
    main()
