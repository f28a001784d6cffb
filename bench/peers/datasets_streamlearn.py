"""streamlearn's bounded dataset into NumPy: ``from_kafka(...).to_numpy(features, label)``.

``end="now"`` resolved when the dataset is made (the orchestrator produces the last
record in a batch of its own, so Tansu's high watermark is the log end too); the rows
read are checked against ``--records``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import streamlearn as sl
from _common import consumer_settings
from streamlearn.datasets.synth.susy import SUSY_SCHEMA
from streamlearn.kafka.config import KafkaConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--features", required=True, help="comma-separated")
    ap.add_argument("--label", required=True)
    args = ap.parse_args()
    # the same librdkafka fetch settings as the baselines
    same = consumer_settings(args.bootstrap, args.group)
    options = {k: same[k] for k in ("fetch.max.bytes", "max.partition.fetch.bytes")}
    options["queued.min.messages"] = same["queued.min.messages"]
    config = KafkaConfig(bootstrap_servers=args.bootstrap, client_options=options, local=True)
    start = time.perf_counter()
    ds = sl.datasets.from_kafka(
        args.input, decode=sl.decode.json(SUSY_SCHEMA), start="earliest", end="now", kafka=config
    )
    x, y = ds.to_numpy(args.features.split(","), args.label)
    elapsed = time.perf_counter() - start
    assert x.shape[0] == args.records == len(y), (x.shape, args.records)
    assert x.dtype == np.float64 and ds.dead_lettered == 0
    print(json.dumps({"records": len(y), "elapsed_s": elapsed, "rps": len(y) / elapsed}))


if __name__ == "__main__":
    main()
