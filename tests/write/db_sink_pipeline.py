"""Pipelines writing to PostgreSQL or InfluxDB, for the crash tests
(tests/write/test_postgres_pipeline.py, test_influx_sink.py), run with ``streamlearn run``.

Settings come from the environment: ``SINK_SRC`` (input topic), ``SINK_KIND``
(``postgres`` or ``influx``), ``SINK_TABLE`` + ``SINK_DSN`` or ``SINK_URL`` + ``SINK_DB``.
With ``SINK_KILL_AT_FLUSH=K`` the process SIGKILLs itself right after the K-th non-empty
flush: the rows are in the database, their offsets are not committed. With
``SINK_KILL_AFTER_ROWS=R`` instead, it dies right after the first flush that takes the
rows written past ``R`` (however many flushes the first ``R`` rows took).
``SINK_RETRY_FOR`` is the PostgreSQL sink's ``retry_for`` (default 60 s).
"""

import os
import signal
from dataclasses import dataclass

import streamlearn as sl
from streamlearn.write import Sink, SinkOperator


class _KillAfterFlush(Sink):
    def __init__(self, inner: Sink, kill_at: int, kill_after_rows: int = 0) -> None:
        self.inner, self.kill_at, self.flushes, self.pending = inner, kill_at, 0, 0
        self.kill_after_rows, self.rows = kill_after_rows, 0

    def write(self, batch: sl.Batch) -> None:
        self.pending += batch.height
        self.inner.write(batch)

    def flush(self) -> None:
        self.inner.flush()
        if self.pending:
            self.rows += self.pending
            self.pending = 0
            self.flushes += 1
            if self.flushes == self.kill_at or 0 < self.kill_after_rows < self.rows:
                os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class KillAfterFlush(SinkOperator):
    inner: SinkOperator | None = None

    def open(self, ctx: sl.Context) -> Sink:
        assert self.inner is not None
        env = os.environ
        return _KillAfterFlush(
            self.inner.open(ctx),
            int(env.get("SINK_KILL_AT_FLUSH", "0")),
            int(env.get("SINK_KILL_AFTER_ROWS", "0")),
        )


def pipeline() -> sl.Pipeline:
    env = os.environ
    if env["SINK_KIND"] == "postgres":
        sink: SinkOperator = sl.write.to_postgres(
            env["SINK_TABLE"],
            dsn=env["SINK_DSN"],
            create=True,
            retry_for=float(env.get("SINK_RETRY_FOR", "60")),
        )
        schema = {"a": "float", "n": "int", "s": "string"}
    else:
        sink = sl.write.to_influxdb(
            "reading",
            url=env["SINK_URL"],
            database=env["SINK_DB"],
            tags=["site"],
            fields=["prediction", "Temperature"],
        )
        schema = {"site": "string", "prediction": "int", "Temperature": "float"}
    return (
        sl.read.from_kafka(env["SINK_SRC"], max_batch=int(env.get("SINK_BATCH", "500")))
        | sl.decode.json(schema)
        | KillAfterFlush(inner=sink, name="db")
    )
