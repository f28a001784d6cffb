"""A pipeline with a sink written against the public Sink contract only, for
tests/write/test_sink_contract.py (which runs it with ``streamlearn run`` and kills it).

The sink appends the ``sl-id`` of every row to a file when the checkpoint flushes it. With
``SINK_KILL_FROM_OFFSET=K`` it SIGKILLs its own process right after the first flush that
holds a record at offset K or later, that is after those rows are durable and before the
checkpoint commits their offsets.
"""

import os
import signal
from dataclasses import dataclass

import streamlearn as sl
from streamlearn.write import Sink, SinkOperator


class FileSink(Sink):
    def __init__(self, path: str, kill_from: int) -> None:
        self.path = path
        self.kill_from = kill_from
        self.buffer: list[bytes] = []

    def write(self, batch: sl.Batch) -> None:
        self.buffer.extend(batch.record_ids())

    def flush(self) -> None:
        if not self.buffer:
            return
        with open(self.path, "ab") as f:
            f.write(b"".join(rid + b"\n" for rid in self.buffer))
            f.flush()
            os.fsync(f.fileno())
        last = max(int(rid.rsplit(b"/", 1)[1]) for rid in self.buffer)
        self.buffer.clear()
        if 0 <= self.kill_from <= last:
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class ToFile(SinkOperator):
    path: str = ""

    def open(self, ctx: sl.Context) -> Sink:
        return FileSink(self.path, int(os.environ.get("SINK_KILL_FROM_OFFSET", "-1")))


def pipeline() -> sl.Pipeline:
    return (
        sl.read.from_kafka(os.environ["SINK_SRC"], max_batch=200)
        | sl.decode.json({"a": "float"})
        | ToFile(path=os.environ["SINK_FILE"], name="file")
    )
