"""The window-free S1 pipeline with streamlearn, run until SIGTERM (latency benchmark).

decode -> sequential k-means -> SQL filter (cluster 0) -> Kafka: S1 without its 5 s
timer window (a window holds records on purpose; latency is about everything else).
``--client-option key=value`` passes librdkafka settings (consumer-only and
producer-only keys go to the right client); ``--max-wait-ms`` is the reader's batch wait.
``--sync-commit`` and ``--duckdb-sql`` bring back the behaviour before issue 13's second
round (offsets committed synchronously at every checkpoint; every SQL step in DuckDB),
so their effect is measured in the same run.
Last stdout line: JSON with the run's counts.
"""

import argparse
import json
import signal

import streamlearn as sl
from streamlearn.datasets.synth.trades import TRADES_SCHEMA
from streamlearn.kafka.config import KafkaConfig


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
    ap.add_argument(
        "--trace",
        action="store_true",
        help="time the stages in-process (arrival, processing, commits)",
    )
    ap.add_argument("--commit-interval", type=float, default=1.0)
    ap.add_argument("--sync-commit", action="store_true", help="wait for every offset commit")
    ap.add_argument("--duckdb-sql", action="store_true", help="no Polars path for SQL filters")
    args = ap.parse_args()
    _old_behaviour(sync_commit=args.sync_commit, duckdb_sql=args.duckdb_sql)
    trace = _trace() if args.trace else None
    options = dict(o.split("=", 1) for o in args.client_option)
    kafka = KafkaConfig(
        bootstrap_servers=args.bootstrap,
        local=True,
        client_options={k: _value(v) for k, v in options.items()},
    )
    read = (
        sl.read.from_kafka(args.input)
        if args.max_wait_ms is None
        else sl.read.from_kafka(args.input, max_wait_ms=args.max_wait_ms)
    )
    pipeline = (
        read
        | sl.decode.json(TRADES_SCHEMA)
        | sl.ml.sequential_k_means(["bid", "ask"], k=3, buffer_size=1000, seed=0, name="kmeans")
        | sl.sql("select * from $1 where cluster = 0")
        | sl.write.to_kafka(args.output)
    )
    runner = sl.Runner(
        pipeline,
        kafka=kafka,
        options=sl.RunOptions(name=args.group, commit_interval=args.commit_interval),
    )
    signal.signal(signal.SIGTERM, lambda *_: runner.stop(drain=True))
    stats = runner.run().as_dict()
    out = {
        k: stats.get(k)
        for k in (
            "records_in",
            "records_out",
            "batches",
            "max_batch_rows",
            "last_batch_ms",
            "e2e_p50_ms",
            "e2e_p99_ms",
            "batch_p50_ms",
            "batch_p99_ms",
        )
    }
    if trace is not None:
        out["trace"] = {k: _pcts(v) for k, v in trace.items()}
    print(json.dumps(out))


def _pcts(values: list[float]) -> dict:
    import numpy as np

    a = np.asarray(values[len(values) // 5 :])  # the steady state: drop the first fifth
    if not len(a):
        return {}
    return {
        "n": len(a),
        "p50": round(float(np.percentile(a, 50)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "mean": round(float(a.mean()), 2),
        "sum": round(float(a.sum()), 1),
    }


def _old_behaviour(*, sync_commit: bool, duckdb_sql: bool) -> None:
    if sync_commit:
        from streamlearn.runtime.checkpoint import Checkpoint

        commit = Checkpoint.commit

        def sync(self, *, force=False):
            return commit(self, force=True) if force or self.tasks.dirty else False

        Checkpoint.commit = sync
    if duckdb_sql:
        import importlib

        # the module, not the sl.sql function that shadows it on the package
        importlib.import_module("streamlearn.ops.sql").compile_filter = lambda query: None


def _trace() -> dict[str, list[float]]:
    """Wrap the runner's stages: how old a batch's records are when read (their Kafka
    timestamps), how long processing and commits take (ms), batch sizes."""
    import time

    from streamlearn.kafka.reader import BatchReader
    from streamlearn.runtime.runner import Runner
    from streamlearn.runtime.tasks import Tasks

    got: dict[str, list[float]] = {
        "read_age_ms": [],
        "process_ms": [],
        "commit_ms": [],
        "batch_rows": [],
    }
    read, process, commit = BatchReader.read, Tasks.process, Runner._commit

    def t_read(self, limit=None):
        groups = read(self, limit)
        now = time.time() * 1000
        for _, _, msgs in groups:
            got["read_age_ms"].append(now - msgs[len(msgs) // 2].timestamp()[1])
            got["batch_rows"].append(len(msgs))
        return groups

    def t_process(self, groups, ctx):
        t = time.perf_counter()
        process(self, groups, ctx)
        got["process_ms"].append((time.perf_counter() - t) * 1000)

    def t_commit(self, force=False):
        t = time.perf_counter()
        commit(self, force)
        got["commit_ms"].append((time.perf_counter() - t) * 1000)

    BatchReader.read, Tasks.process, Runner._commit = t_read, t_process, t_commit
    return got


if __name__ == "__main__":
    main()
