"""The PostgreSQL sink under crashes and an outage, through ``streamlearn run``.

The pipeline (tests/write/db_sink_pipeline.py) reads N JSON records and writes them to a
table keyed by ``sl_id``. It is SIGKILLed five times while it writes: three times from
outside at whatever point it has reached (mid-COPY, mid-transaction, between batches),
twice by itself right after a flush and before the offset commit (the replay case). A
last run finishes; the table must equal the input exactly. Then a private server is
stopped for 20 s mid-run: the run pauses its partitions, stays in its group, resumes.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from tests.kafka_helpers import consume_all, produce, run_command

HERE = Path(__file__).parent
N = 200_000  # the row count; the whole test takes ~40 s on the 2-core machine


def cli(kafka, name, *extra):
    return run_command(
        f"{HERE / 'db_sink_pipeline.py'}:pipeline",
        kafka,
        name,
        *extra,
        session_ms=2000,
        heartbeat_ms=300,
    )


def count(dsn: str, table: str) -> int:
    import psycopg

    try:
        with psycopg.connect(dsn) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0


def table_rows(dsn: str, table: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute(f"SELECT n, a, s, sl_id FROM {table} ORDER BY n").fetchall()


def records(n: int) -> list[bytes]:
    return [orjson.dumps({"a": i / 7, "n": i, "s": f'row {i}, "q"'}) for i in range(n)]


def expected(topic: str, n: int) -> list[tuple]:
    return [(i, i / 7, f'row {i}, "q"', f"{topic}/0/{i}") for i in range(n)]


@pytest.mark.broker
def test_sigkill_five_times_while_writing_leaves_the_table_exact(
    kafka, topic_factory, pg_dsn, pg_table
):
    src = topic_factory()
    produce(kafka, src, records(N))
    env = dict(
        os.environ,
        SINK_SRC=src,
        SINK_KIND="postgres",
        SINK_TABLE=pg_table,
        SINK_DSN=pg_dsn,
        SINK_BATCH="200",
    )
    name = f"pg-{src}"
    for kill in range(5):
        from_outside = kill % 2 == 0
        victim = subprocess.Popen(
            cli(kafka, name),
            env=dict(env, SINK_KILL_AT_FLUSH="0" if from_outside else "2"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        if from_outside:
            start, deadline = count(pg_dsn, pg_table), time.monotonic() + 60
            while count(pg_dsn, pg_table) < start + N // 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            victim.kill()
        assert victim.wait(60) == -9, victim.stderr.read().decode()[-2000:]
    before = count(pg_dsn, pg_table)
    assert N // 20 < before < N  # the kills came while it was writing

    done = subprocess.run(
        cli(kafka, name, "--idle-timeout", "3"), env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert table_rows(pg_dsn, pg_table) == expected(src, N)  # none missing, none twice


@pytest.mark.broker
def test_database_stopped_for_20_s_mid_run_pauses_and_loses_nothing(
    kafka, topic_factory, private_pg, tmp_path
):
    """The server (a private one: the machine's is shared) stops for 20 s while records
    keep coming. The run pauses its 3 partitions and keeps polling: with
    ``max.poll.interval.ms`` at 6 s, a loop blocked in the flush would be evicted from
    its group (a second assignment); this one stays, says so, and resumes."""
    n, outage, table = 20_000, 20.0, "readings"
    src = topic_factory(3)
    values, keys = records(n), [str(i).encode() for i in range(n)]
    produce(kafka, src, values[: n // 2], keys[: n // 2])
    name = f"pg-{src}"
    env = dict(
        os.environ, SINK_SRC=src, SINK_KIND="postgres", SINK_TABLE=table, SINK_DSN=private_pg.dsn
    )
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        run = subprocess.Popen(
            cli(kafka, name, "--idle-timeout", "8", "--json", "-X", "max.poll.interval.ms=6000"),
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 60
            while count(private_pg.dsn, table) < n // 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert count(private_pg.dsn, table) == n // 2
            private_pg.stop()  # fast shutdown: the session is cut, connections refused
            produce(kafka, src, values[n // 2 :], keys[n // 2 :])
            time.sleep(outage)
            assert run.poll() is None  # the run waits for the database, it does not stop
            private_pg.start()
            assert run.wait(120) == 0, err.read_text()[-2000:]
        finally:
            if run.poll() is None:
                run.kill()
    log = err.read_text()
    stats = orjson.loads(out.read_text().strip().splitlines()[-1])
    assert stats["records_in"] == n and stats["records_out"] == n
    assert stats["sink_pauses"] >= 1 and outage - 5 <= stats["paused_s"] <= outage + 10
    assert stats["paused_partitions"] == 0 and stats["sink_away"] == ""
    assert stats["assignments"] == 1  # never evicted: no rebalance while paused
    # the progress output says what waits for what (the library itself logs on
    # "streamlearn.runtime", shown where the application configures logging)
    assert "paused 3 partitions for" in log and "Connection refused" in log, log[-2000:]
    # the metrics feed said so while it lasted
    reports = [orjson.loads(m.value()) for m in consume_all(kafka, f"{name}.metrics")]
    runs = [r for r in reports if r["kind"] == "run"]
    paused = [r for r in runs if r["paused_partitions"]]
    assert paused and all(r["paused_partitions"] == 3 for r in paused)
    assert all(f"postgres table {table!r}" in r["sink_away"] for r in paused)
    assert runs[-1]["paused_partitions"] == 0
    # exactly the input: every record once, keyed by the partition and offset it came from
    where = {
        orjson.loads(m.value())["n"]: f"{src}/{m.partition()}/{m.offset()}"
        for m in consume_all(kafka, src, expected=n)
    }
    assert table_rows(private_pg.dsn, table) == [
        (i, i / 7, f'row {i}, "q"', where[i]) for i in range(n)
    ]
