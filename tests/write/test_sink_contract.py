"""The Sink contract under a crash: a sink flushed but not committed repeats, never loses.

The sink is written in tests/write/file_sink_pipeline.py with the public contract only
(``sl.write.Sink``/``SinkOperator``). The pipeline kills itself between a flush and the
offset commit that follows it; the restart reads those records again.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import orjson
import polars as pl
import pytest

import streamlearn as sl
from tests.kafka_helpers import produce, run_command
from tests.write.file_sink_pipeline import ToFile

HERE = Path(__file__).parent
N = 5_000


def cli(kafka, name, *extra):
    return run_command(f"{HERE / 'file_sink_pipeline.py'}:pipeline", kafka, name, *extra)


@pytest.mark.broker
def test_sigkill_between_flush_and_commit_repeats_never_loses(kafka, topic_factory, tmp_path):
    src = topic_factory()
    values = [orjson.dumps({"a": float(i)}) for i in range(N)]
    out = tmp_path / "rows.txt"
    env = dict(os.environ, SINK_SRC=src, SINK_FILE=str(out))
    name = f"sink-{src}"

    # the first half is flushed and committed; the second half's flush kills the run
    produce(kafka, src, values[: N // 2])
    victim = subprocess.Popen(
        cli(kafka, name),
        env=dict(env, SINK_KILL_FROM_OFFSET=str(N // 2)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while (
        not out.exists() or len(out.read_bytes().splitlines()) < N // 2
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # past the commit that follows the first flush
    produce(kafka, src, values[N // 2 :])
    assert victim.wait(60) == -9, victim.stderr.read().decode()[-2000:]
    before = Counter(out.read_bytes().splitlines())
    assert N // 2 < len(before) <= N  # the second flush was durable before the kill

    done = subprocess.run(
        cli(kafka, name, "--idle-timeout", "3"), env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    ids = Counter(out.read_bytes().splitlines())
    assert set(ids) == {f"{src}/0/{i}".encode() for i in range(N)}  # nothing lost
    repeated = [rid for rid, n in ids.items() if n > 1]
    # what the killed run flushed after its last commit was read and written again
    assert repeated and all(before[rid] == 1 for rid in repeated)
    assert max(ids.values()) == 2


def test_sink_offline_collects_through_the_context(tmp_path):
    ctx = sl.Context()
    path = tmp_path / "rows.txt"
    (sl.decode.json({"a": "float"}) | ToFile(path=str(path), name="f")).apply(
        pl.DataFrame({"value": [b'{"a": 1}', b'{"a": 2}']}), ctx=ctx
    )
    assert not path.exists()  # written, buffered: not durable until the flush
    ctx.flush_sinks()
    assert path.read_bytes().splitlines() == [b"<frame>/0/0", b"<frame>/0/1"]
