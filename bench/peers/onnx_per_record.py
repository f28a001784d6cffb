"""ONNX Runtime called once per record: consume, parse JSON, ``session.run`` on a 1-row
block, produce JSON. What a hand-written consumer loop around an ONNX model does."""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np
import onnxruntime as ort
import orjson
from confluent_kafka import Consumer, Producer

from _common import consumer_settings
from streamlearn.kafka.produce import produce


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--output", "--group", "--model"):
        ap.add_argument(a, required=True)
    ap.add_argument("--records", type=int, required=True)
    args = ap.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    feats = ["rooms", "area", "age", "distance"]
    consumer = Consumer(consumer_settings(args.bootstrap, args.group))
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "linger.ms": 5,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    consumer.subscribe([args.input])
    seen, start = 0, None
    while seen < args.records:
        msgs = consumer.consume(num_messages=10_000, timeout=0.5)
        start = start or (time.perf_counter() if msgs else None)
        for m in msgs:
            if m.error() is not None:
                continue
            row = orjson.loads(m.value())
            x = np.array([[row[f] for f in feats]], dtype=np.float32)
            row["price"] = float(sess.run(None, {name: x})[0][0, 0])
            produce(producer, args.output, orjson.dumps(row), m.key())
            seen += 1
            if seen >= args.records:
                break
        producer.poll(0)
    producer.flush(60)
    elapsed = time.perf_counter() - start
    consumer.close()
    print(json.dumps({"records": seen, "elapsed_s": elapsed, "rps": seen / elapsed}))


if __name__ == "__main__":
    main()
