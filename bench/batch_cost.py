"""Per-batch cost of the window-free S1 chain, offline: no broker, no network.

    python bench/batch_cost.py --json
    python bench/batch_cost.py --baseline-src /tmp/base/src --json   # before/after, one run
    python bench/batch_cost.py --profile 50                          # cProfile of 50-row batches

What the runtime times as ``last_batch_ms``: ``Tasks.process`` over one batch of
confluent-kafka ``Message`` objects (S1 trades), i.e. the batch's provenance, decode ->
sequential k-means -> SQL filter (cluster 0) -> the Kafka sink's encoding and
``produce()`` calls. The producer points at an address nothing listens on and its queue
is purged after every batch (outside the timed span), so only the client-side work of
producing is counted. At small batches this is the fixed cost per batch that sets the
latency at low rates (issue 13); at large ones it is the throughput per record.

With ``--baseline-src`` each size is measured for the code under that ``src`` directory
too, in a child process, interleaved with this one (``--repeat`` rounds). The last stdout
line is one JSON object: per label and batch size the median ms per batch and us per row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (50, 200, 2000, 20000)


def measure(
    sizes: list[int], seconds: float, min_batches: int = 5, gap_ms: float = 0.0
) -> dict[str, dict[str, float]]:
    """Median ms per batch for each size, in this process (whatever ``streamlearn`` is)."""
    from confluent_kafka import Message, Producer

    import streamlearn as sl
    from streamlearn.datasets.synth.trades import TRADES_SCHEMA, generate_trades
    from streamlearn.runtime.context import KafkaContext
    from streamlearn.runtime.stats import RunStats
    from streamlearn.runtime.tasks import Tasks

    pipeline = (
        sl.read.from_kafka("in")
        | sl.decode.json(TRADES_SCHEMA)
        | sl.ml.sequential_k_means(["bid", "ask"], k=3, buffer_size=1000, seed=0, name="kmeans")
        | sl.sql("select * from $1 where cluster = 0")
        | sl.write.to_kafka("out")
    )
    producer = Producer(
        {
            "bootstrap.servers": "127.0.0.1:9",
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 2_000_000,
            "log_level": 0,
        }
    )
    ctx = KafkaContext(producer, pipeline="batch-cost", dead_letter_topic="dlq")
    stats = RunStats()
    ctx.stats = stats
    tasks = Tasks(pipeline, stats)
    tasks.assign([0], {}, ctx)
    values = generate_trades(max(*sizes, 2000), seed=1)
    now_ms = int(time.time() * 1000)
    offset = 0

    def messages(n: int) -> list:
        nonlocal offset
        msgs = [
            Message(
                topic="in",
                partition=0,
                offset=offset + i,
                key=None,
                value=values[i],
                timestamp=(1, now_ms),
            )
            for i in range(n)
        ]
        offset += n
        return msgs

    tasks.process([("in", 0, messages(2000))], ctx)  # past the k-means warm-up fit
    producer.purge()
    out: dict[str, dict[str, float]] = {}
    for n in sizes:
        times = []
        batch = messages(n)
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(times) < min_batches:
            t = time.perf_counter()
            tasks.process([("in", 0, batch)], ctx)
            times.append((time.perf_counter() - t) * 1000)
            producer.purge()
            if gap_ms:
                time.sleep(gap_ms / 1000)
        ms = statistics.median(times[1:])
        out[str(n)] = {"ms": round(ms, 3), "us_per_row": round(ms * 1000 / n, 3)}
    return out


def profile(n: int, count: int, gap_ms: float) -> None:
    """cProfile of ``count`` batches of ``n`` rows, top functions by own time."""
    import cProfile
    import pstats

    measure([n], 0.2)  # imports, warm-up
    prof = cProfile.Profile()
    prof.enable()
    measure([n], 0.0, min_batches=count, gap_ms=gap_ms)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(35)


def child(src: str, sizes: list[int], seconds: float, gap_ms: float) -> dict:
    env = dict(os.environ, PYTHONPATH=src)
    cmd = [sys.executable, __file__, "--sizes", *map(str, sizes), "--seconds", str(seconds)]
    cmd += ["--gap-ms", str(gap_ms)]
    res = subprocess.run(
        [*cmd, "--json"], env=env, capture_output=True, text=True, check=True, cwd=HERE
    )
    return json.loads(res.stdout.strip().splitlines()[-1])["streamlearn"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--seconds", type=float, default=2.0, help="per size and round")
    ap.add_argument("--repeat", type=int, default=1, help="rounds (medians of rounds)")
    ap.add_argument(
        "--gap-ms",
        type=float,
        default=5.0,
        help="idle time between batches, as in a live stream (10k/s: ~5 ms; 0: back to back)",
    )
    ap.add_argument("--baseline-src", default=None, help="a src/ directory to compare with")
    ap.add_argument("--profile", type=int, default=None, metavar="ROWS")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.profile:
        profile(args.profile, 400, args.gap_ms)
        return
    if args.baseline_src is None and args.repeat == 1:
        res = measure(args.sizes, args.seconds, gap_ms=args.gap_ms)
        print(json.dumps({"streamlearn": res, "gap_ms": args.gap_ms}))
        return
    mine = os.environ.get("PYTHONPATH") or str(HERE.parent / "src")
    labels = {"streamlearn": mine}
    if args.baseline_src:
        labels = {"baseline": args.baseline_src, **labels}
    rounds: dict[str, list[dict]] = {k: [] for k in labels}
    for _ in range(args.repeat):
        for label, src in labels.items():
            rounds[label].append(child(src, args.sizes, args.seconds, args.gap_ms))
    result: dict = {}
    for label, rs in rounds.items():
        result[label] = {
            str(n): {
                k: round(statistics.median(r[str(n)][k] for r in rs), 3)
                for k in ("ms", "us_per_row")
            }
            for n in args.sizes
        }
    if "baseline" in result:
        result["speedup"] = {
            str(n): round(result["baseline"][str(n)]["ms"] / result["streamlearn"][str(n)]["ms"], 2)
            for n in args.sizes
        }
    result["gap_ms"] = args.gap_ms
    result["rounds"] = rounds
    print(json.dumps(result))


if __name__ == "__main__":
    main()
