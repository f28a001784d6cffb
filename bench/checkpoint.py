"""The state part of a checkpoint: every dirty partition's snapshot made durable.

    python bench/checkpoint.py --json
    python bench/checkpoint.py --partitions 1 4 12 32 --snapshot-kb 4 --rounds 50

A checkpoint produces one snapshot per dirty partition to the state topic. Until
2026-12-02 each was flushed on its own (a round trip per partition, every checkpoint);
now they are produced together and flushed once (``Checkpoint.commit``,
``StateStore.flush``). Both ways run here, interleaved, on the local broker, against one
state topic: ``one_by_one`` is ``StateStore.save(..., flush=True)`` per partition (the
code before), ``batched`` is ``save(..., flush=False)`` for all, then ``flush()``. On a
real cluster each round trip costs the network's latency and the replication of
``acks=all`` as well, so the gap grows with it.

The last stdout line is one JSON object: per partition count, the median ms of one
checkpoint's state writes each way, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from streamlearn.kafka.admin import ensure_topics
from streamlearn.kafka.clients import make_producer
from streamlearn.kafka.config import KafkaConfig
from streamlearn.kafka.local_broker import LocalBroker
from streamlearn.runtime.state_store import Snapshot, StateStore


def run(bootstrap: str, partitions: list[int], kb: int, rounds: int) -> dict:
    config = KafkaConfig.for_local_broker(bootstrap)
    topic = f"bench-state-{uuid.uuid4().hex[:6]}"
    ensure_topics(config, {topic: 1})
    store = StateStore(topic, "bench", config.consumer_config("bench"))
    producer = make_producer(config)
    blob = bytes(kb * 1024)
    out: dict[str, dict] = {}
    for n in partitions:
        times: dict[str, list[float]] = {"one_by_one": [], "batched": []}
        for r in range(rounds):
            snaps = [Snapshot({"kmeans": blob}, {("in", p): r}) for p in range(n)]
            for way in ("one_by_one", "batched") if r % 2 else ("batched", "one_by_one"):
                t = time.perf_counter()
                for p, s in enumerate(snaps):
                    store.save(producer, p, s, flush=way == "one_by_one")
                if way == "batched":
                    store.flush(producer)
                times[way].append((time.perf_counter() - t) * 1000)
        one, batched = (statistics.median(times[w]) for w in ("one_by_one", "batched"))
        out[str(n)] = {
            "one_by_one_ms": round(one, 2),
            "batched_ms": round(batched, 2),
            "speedup": round(one / batched, 2),
        }
        print(
            f"{n:>3} partitions: one by one {one:.2f} ms, batched {batched:.2f} ms", file=sys.stderr
        )
    loaded = store.load(set(range(max(partitions))), timeout=30)
    assert len(loaded) == max(partitions), "every partition's last snapshot reads back"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partitions", type=int, nargs="+", default=[1, 4, 12, 32])
    ap.add_argument("--snapshot-kb", type=int, default=4, help="size of each snapshot")
    ap.add_argument("--rounds", type=int, default=40, help="checkpoints per partition count")
    ap.add_argument("--json", action="store_true", help="only the JSON result on stdout")
    args = ap.parse_args()
    with LocalBroker() as broker:
        result = run(broker.bootstrap, args.partitions, args.snapshot_kb, args.rounds)
    print(
        json.dumps(
            {
                "checkpoint_state_writes": result,
                "snapshot_kb": args.snapshot_kb,
                "rounds": args.rounds,
                "machine": machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
