"""Micro-benchmark of ``sl.decode.json(schema).apply(frame)`` on S1's trade records.

Prints one JSON line: microseconds per record (best and median of ``--repeat`` runs) for
batches of ``--batch`` records (S1's reader hands over up to 20k at a time).

    PYTHONPATH=$PWD/src python bench/decode_json.py --records 300000 --batch 20000
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import polars as pl

import streamlearn as sl
from streamlearn.datasets.synth.trades import TRADES_SCHEMA, generate_trades


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    values = list(generate_trades(args.records, seed=0))
    frames = [
        pl.DataFrame({"value": pl.Series(values[i : i + args.batch], dtype=pl.Binary)})
        for i in range(0, len(values), args.batch)
    ]
    op = sl.decode.json(TRADES_SCHEMA)
    runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        rows = sum(op.apply(f).height for f in frames)
        runs.append((time.perf_counter() - t) / args.records * 1e6)
    assert rows == args.records
    print(
        json.dumps(
            {
                "records": args.records,
                "batch": args.batch,
                "us_per_record_best": round(min(runs), 4),
                "us_per_record_median": round(statistics.median(runs), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
