"""The PostgreSQL sink against the machine's server: types, idempotent replays, upserts,
schema errors, and a database that goes away during a flush (through a TCP proxy)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.backoff import flush_waiting
from streamlearn.write.postgres import PostgresSink
from tests.write.servers import TcpProxy


def rows(dsn: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def execute(dsn: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def sink_for(spec: sl.write.ToPostgres) -> PostgresSink:
    return spec.open(sl.Context())


def test_types_round_trip_with_create(pg_dsn, pg_table):
    df = pl.DataFrame(
        {
            "i": [1, None, -3],
            "f": [1.5, float("nan"), None],
            "s": ['a,"b"\nc', "", None],
            "b": [True, False, None],
            "ts": [datetime(2024, 1, 2, 3, 4, 5, 678901), None, datetime(2000, 1, 1)],
            "d": [date(2024, 1, 2), None, date(1999, 12, 31)],
            "raw": [b"\x00\xff", None, b""],
            "xs": [[1, 2], None, []],
            "dur": [timedelta(seconds=1.5), None, timedelta(days=2)],
        }
    ).with_columns(tz=pl.col("ts").dt.replace_time_zone("UTC"))
    sink = sink_for(sl.write.to_postgres(pg_table, dsn=pg_dsn, create=True))
    sink.write(sl.Batch.from_frame(df, topic="in", partition=2, first_offset=10))
    sink.flush()
    got = rows(pg_dsn, f"SELECT * FROM {pg_table} ORDER BY sl_id")
    assert [r[0] for r in got] == ["in/2/10", "in/2/11", "in/2/12"]
    first, second, _ = got
    assert first[1:] == (
        1,
        1.5,
        'a,"b"\nc',
        True,
        datetime(2024, 1, 2, 3, 4, 5, 678901),
        date(2024, 1, 2),
        b"\x00\xff",
        [1, 2],
        timedelta(seconds=1.5),
        datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc),
    )
    assert second[1] is None and second[2] != second[2]  # NaN stays NaN, NULL stays NULL
    assert second[3] == "" and second[4] is False  # an empty string is not NULL
    assert all(v is None for v in second[5:])
    types = dict(
        rows(
            pg_dsn,
            "SELECT column_name, data_type FROM information_schema.columns"
            f" WHERE table_name = '{pg_table}'",
        )
    )
    assert types["i"] == "bigint" and types["xs"] == "jsonb" and types["sl_id"] == "text"


def test_a_replayed_flush_leaves_one_row_per_input(pg_dsn, pg_table):
    spec = sl.write.to_postgres(pg_table, dsn=pg_dsn, create=True)
    batch = sl.Batch.from_frame(pl.DataFrame({"x": list(range(1000))}), topic="t")
    for _ in range(3):  # the same records written by three runs
        sink = sink_for(spec)
        sink.write(batch)
        sink.flush()
        sink.close()
    assert rows(pg_dsn, f"SELECT count(*), count(DISTINCT sl_id), sum(x) FROM {pg_table}") == [
        (1000, 1000, sum(range(1000)))
    ]
    # a flush that is half replay, half new rows: the direct COPY is refused as a whole,
    # the staged INSERT ... ON CONFLICT adds the new half only
    sink = sink_for(spec)
    sink.write(
        sl.Batch.from_frame(
            pl.DataFrame({"x": list(range(500, 1500))}), topic="t", first_offset=500
        )
    )
    sink.flush()
    assert rows(pg_dsn, f"SELECT count(*), sum(x) FROM {pg_table}") == [(1500, sum(range(1500)))]


def test_upsert_on_a_user_key(pg_dsn, pg_table):
    execute(pg_dsn, f"CREATE TABLE {pg_table} (id integer PRIMARY KEY, v text, n bigint)")
    sink = sink_for(sl.write.to_postgres(pg_table, dsn=pg_dsn, key="id", on_conflict="update"))
    sink.write(sl.Batch.from_frame(pl.DataFrame({"id": [1, 2], "v": ["a", "b"], "n": [1, 2]})))
    sink.flush()
    # a later batch updates key 2 twice in one flush: the last value wins
    sink.write(
        sl.Batch.from_frame(pl.DataFrame({"id": [2, 3, 2], "v": ["x", "c", "y"], "n": [5, 3, 6]}))
    )
    sink.flush()
    assert rows(pg_dsn, f"SELECT * FROM {pg_table} ORDER BY id") == [
        (1, "a", 1),
        (2, "y", 6),
        (3, "c", 3),
    ]


def test_wrong_column_type_is_one_line_naming_the_column(pg_dsn, pg_table):
    execute(pg_dsn, f"CREATE TABLE {pg_table} (sl_id text PRIMARY KEY, temp integer, site text)")
    sink = sink_for(sl.write.to_postgres(pg_table, dsn=pg_dsn))
    sink.write(sl.Batch.from_frame(pl.DataFrame({"temp": [21.5], "site": ["n"]})))
    with pytest.raises(sl.ConfigError) as err:
        sink.flush()
    msg = str(err.value)
    assert "\n" not in msg
    assert "column 'temp' is Float64 in the stream but integer in table" in msg
    assert sink.buffered == 1  # nothing lost: the rows wait for a fixed table


def test_missing_table_and_missing_constraint_are_config_errors(pg_dsn, pg_table):
    sink = sink_for(sl.write.to_postgres(pg_table, dsn=pg_dsn))
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1]})))
    with pytest.raises(sl.ConfigError, match=r"does not exist .*create=True"):
        sink.flush()
    execute(pg_dsn, f"CREATE TABLE {pg_table} (sl_id text, x bigint)")
    with pytest.raises(sl.ConfigError, match="no primary key or unique constraint on"):
        sink.flush()
    with pytest.raises(sl.ConfigError, match="no column 'y' in the stream"):
        sink_for(sl.write.to_postgres(pg_table, dsn=pg_dsn, columns=["y"])).write(
            sl.Batch.from_frame(pl.DataFrame({"x": [1]}))
        )


def test_database_away_during_a_flush_is_retried_and_loses_nothing(pg_dsn, pg_table, caplog):
    with TcpProxy(5432) as proxy:
        dsn = f"host=127.0.0.1 port={proxy.port} user=postgres password=hunter2 dbname=postgres"
        spec = sl.write.to_postgres(pg_table, dsn=dsn, create=True, retry_for=30, name="pg")
        ctx = sl.Context()
        (sl.map(lambda df: df) | spec).apply(pl.DataFrame({"x": [1, 2]}), ctx=ctx)
        ctx.flush_sinks()  # connected through the proxy
        sink = ctx.sinks["pg"]
        proxy.cut()  # the open connection dies; new ones are refused
        sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [3, 4]}), first_offset=2))
        # one attempt: the sink says the database is away, and keeps the rows
        with pytest.raises(sl.SinkUnavailable, match="unavailable") as away:
            sink.flush()
        assert away.value.retry_for == 30 and sink.buffered == 2
        assert "hunter2" not in str(away.value)
        threading.Timer(2.0, proxy.restore).start()
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="streamlearn.write"):
            ctx.flush_sinks()  # offline: waits in place with back-off
        assert time.monotonic() - started >= 1.5
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert retries and all("hunter2" not in m for m in retries)
    assert "hunter2" not in repr(spec) and "hunter2" not in repr(sink)
    assert rows(pg_dsn, f"SELECT sl_id, x FROM {pg_table} ORDER BY x") == [
        (f"<frame>/0/{i}", i + 1) for i in range(4)
    ]


def test_retries_run_out_raise_and_keep_the_buffer(pg_dsn, pg_table):
    with TcpProxy(5432) as proxy:
        proxy.cut()
        dsn = f"postgresql://postgres:hunter2@127.0.0.1:{proxy.port}/postgres"
        sink = sink_for(sl.write.to_postgres(pg_table, dsn=dsn, create=True, retry_for=1))
        sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1, 2]})))
        with pytest.raises(sl.OperatorError, match="still unavailable after") as err:
            flush_waiting(sink.flush)
        assert "hunter2" not in str(err.value) and sink.buffered == 2
        proxy.restore()
        sink.flush()
    assert rows(pg_dsn, f"SELECT count(*) FROM {pg_table}") == [(2,)]
