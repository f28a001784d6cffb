"""Scenario S1 with streamlearn: the same pipeline as ``streamlearn demo`` and the test."""

import argparse
import json
import time

import streamlearn as sl
from streamlearn.demo.trades_clusters import pipeline as s1_pipeline
from streamlearn.kafka.config import KafkaConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    for a in ("--bootstrap", "--input", "--output", "--group"):
        ap.add_argument(a, required=True)
    ap.add_argument("--records", type=int, required=True)
    args = ap.parse_args()
    runner = sl.Runner(
        s1_pipeline(args.input, args.output),
        kafka=KafkaConfig.for_local_broker(args.bootstrap),
        options=sl.RunOptions(name=args.group, max_records=args.records),
    )
    stats = runner.run()
    # from the first consumed batch to the end (group join excluded, as for the peers)
    elapsed = time.monotonic() - (stats.first_record_at or stats.started_at)
    print(
        json.dumps(
            {
                "records": stats.records_in,
                "out": stats.records_out,
                "dead_lettered": stats.dead_lettered,
                "elapsed_s": elapsed,
                "rps": stats.records_in / elapsed,
                "max_batch_rows": stats.max_batch_rows,
            }
        )
    )


if __name__ == "__main__":
    main()
