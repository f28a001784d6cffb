"""A login PostgreSQL refuses is not waited for: wrong password, unknown role or
database, a role without the right to write the table. The flush raises a one-line
``ConfigError`` naming the database at once (it used to be "unavailable", so a run paused
``retry_for``, a minute, before failing), while a server that is away is still retried.
Real servers: the machine's (trust auth) and a private one with passwords."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.write.postgres import PostgresSink
from tests.kafka_helpers import produce, run_command
from tests.write.conftest import _unavailable
from tests.write.servers import PrivatePostgres, free_port

HERE = Path(__file__).parent
HBA = (
    "local all all trust\n"
    "host all postgres 127.0.0.1/32 trust\n"
    "host all all 127.0.0.1/32 scram-sha-256\n"
)


def flush_once(dsn: str, table: str = "readings") -> tuple[PostgresSink, Exception, float]:
    sink = sl.write.to_postgres(table, dsn=dsn, create=True).open(sl.Context())
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1, 2]})))
    started = time.monotonic()
    with pytest.raises(sl.StreamlearnError) as err:
        sink.flush()
    return sink, err.value, time.monotonic() - started


@pytest.fixture
def password_pg() -> Iterator[PrivatePostgres]:
    """A private server where role ``app`` (password ``right``) must give its password,
    owning nothing: table ``locked`` is the postgres role's."""
    try:
        server = PrivatePostgres(hba=HBA).init()
    except (RuntimeError, OSError) as exc:
        _unavailable(str(exc))
    import psycopg

    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE app LOGIN PASSWORD 'right'")
        conn.execute("CREATE TABLE locked (sl_id text PRIMARY KEY, x bigint)")
    yield server
    server.remove()


@pytest.mark.parametrize(
    ("dsn", "named"),
    [
        ("host=127.0.0.1 port=5432 user=postgres dbname=sl_no_such_db", "/sl_no_such_db"),
        ("host=127.0.0.1 port=5432 user=sl_no_such_role dbname=postgres", "/postgres"),
    ],
)
def test_unknown_database_or_role_is_a_config_error_at_once(pg_dsn, dsn, named):
    sink, err, took = flush_once(dsn)
    assert isinstance(err, sl.ConfigError) and not isinstance(err, sl.SinkUnavailable)
    msg = str(err)
    assert "\n" not in msg and "refused (not retried" in msg
    assert f"127.0.0.1:5432{named}" in msg  # the database, named
    assert "does not exist" in msg  # the server's own reason
    assert took < 5 and sink.buffered == 2  # nothing lost: the rows wait for a fixed dsn


def test_wrong_or_missing_password_and_missing_rights_are_config_errors(password_pg):
    base = f"host=127.0.0.1 port={password_pg.port} dbname=postgres user=app"
    for dsn in (f"{base} password=wrong", base):
        _, err, took = flush_once(dsn)
        assert isinstance(err, sl.ConfigError), err
        assert f"127.0.0.1:{password_pg.port}/postgres" in str(err) and took < 5
        assert "wrong" not in str(err)  # the password is never shown
    # the right password, but no right to write the table (SQLSTATE 42501)
    _, err, took = flush_once(f"{base} password=right", table="locked")
    assert isinstance(err, sl.ConfigError) and "permission denied" in str(err)
    # and with the rights, the same sink writes
    import psycopg

    with psycopg.connect(password_pg.dsn, autocommit=True) as conn:
        conn.execute("GRANT SELECT, INSERT ON locked TO app")
    sink = sl.write.to_postgres("locked", dsn=f"{base} password=right").open(sl.Context())
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1, 2]})))
    sink.flush()
    assert sink.rows_written == 2


def test_a_server_away_or_restarting_is_still_retriable(private_pg):
    # nothing listens: away
    _, err, _ = flush_once(f"host=127.0.0.1 port={free_port()} user=postgres dbname=postgres")
    assert isinstance(err, sl.SinkUnavailable)
    # the server shuts down under an open connection: away too
    sink = sl.write.to_postgres("t", dsn=private_pg.dsn, create=True).open(sl.Context())
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1]})))
    sink.flush()
    private_pg.stop()
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [2]}), first_offset=1))
    with pytest.raises(sl.SinkUnavailable):
        sink.flush()
    private_pg.start()
    sink.flush()
    assert sink.rows_written == 2


@pytest.mark.broker
def test_a_run_with_an_unknown_database_stops_at_once_naming_it(kafka, topic_factory):
    src = topic_factory()
    produce(kafka, src, [orjson.dumps({"a": 0.5, "n": i, "s": "x"}) for i in range(50)])
    db = f"sl_missing_{uuid.uuid4().hex[:6]}"
    env = {
        "SINK_SRC": src,
        "SINK_KIND": "postgres",
        "SINK_TABLE": "readings",
        "SINK_DSN": f"host=127.0.0.1 port=5432 user=postgres dbname={db}",
    }
    cmd = run_command(f"{HERE / 'db_sink_pipeline.py'}:pipeline", kafka, f"pgref-{src}")
    import os

    started = time.monotonic()
    done = subprocess.run(
        cmd,
        env={**os.environ, **env, "PYTHONPATH": str(HERE.parents[1] / "src"), "COLUMNS": "100"},
        cwd=HERE.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert done.returncode == 2, done.stderr  # a ConfigError: bad settings
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"127.0.0.1:5432/{db}" in errors[0] and "refused" in errors[0]
    assert took < 40  # the pipeline's retry_for is 60 s: it did not wait for it
