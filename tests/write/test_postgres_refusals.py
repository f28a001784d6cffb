"""A login PostgreSQL refuses is not waited for: wrong password, unknown role or
database, a role without the right to write the table. The flush raises a one-line
``ConfigError`` naming the database at once (it used to be "unavailable", so a run paused
``retry_for``, a minute, before failing), while a server that is away is still retried,
and so is a login turned away for now: too many connections (a role's ``CONNECTION
LIMIT``), a server shutting down. Real servers: the machine's (trust auth) and private
ones (with passwords; one to shut down)."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.write._pgerrors import busy_login
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


def run_sink_pipeline(kafka, src: str, group: str, env: dict[str, str]):
    """``streamlearn run`` of db_sink_pipeline.py reading ``src`` (its settings in
    ``env``), in a subprocess: what it printed and its exit code."""
    import os

    cmd = run_command(f"{HERE / 'db_sink_pipeline.py'}:pipeline", kafka, group)
    return subprocess.run(
        cmd,
        env={**os.environ, **env, "PYTHONPATH": str(HERE.parents[1] / "src"), "COLUMNS": "100"},
        cwd=HERE.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )


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
    started = time.monotonic()
    done = run_sink_pipeline(kafka, src, f"pgref-{src}", env)
    took = time.monotonic() - started
    assert done.returncode == 2, done.stderr  # a ConfigError: bad settings
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"127.0.0.1:5432/{db}" in errors[0] and "refused" in errors[0]
    assert took < 40  # the pipeline's retry_for is 60 s: it did not wait for it


# -- a login turned away for now (53300 too many connections, 57P03) is waited for ------


@pytest.mark.parametrize(
    "message",
    [
        "sorry, too many clients already",
        'too many connections for role "app"',
        'too many connections for database "iot"',
        "remaining connection slots are reserved for non-replication superuser connections",
        "remaining connection slots are reserved for roles with the SUPERUSER attribute",
        "the database system is starting up",
        "the database system is shutting down",
        "the database system is in recovery mode",
        "the database system is not yet accepting connections",
    ],
)
def test_the_servers_words_for_not_now_are_busy(message):
    # as psycopg shows a failed login: libpq's own prefix, then the server's FATAL line
    text = f'connection failed: connection to server at "db", port 5432 failed: FATAL:  {message}'
    assert busy_login(text)


@pytest.mark.parametrize(
    "message",
    [
        'password authentication failed for user "app"',
        'no pg_hba.conf entry for host "10.0.0.1", user "app", database "iot", no encryption',
        'role "app" does not exist',
        'database "iot" does not exist',
        'permission denied for database "iot"',
        'role "app" is not permitted to log in',
        # a translated server (lc_messages = de_DE): not recognised, today's one-line stop
        "FATAL:  zu viele Verbindungen für Rolle »app«",
    ],
)
def test_refusals_and_translated_messages_are_not_busy(message):
    assert not busy_login(f'connection to server at "db", port 5432 failed: FATAL:  {message}')


@pytest.fixture
def one_slot_role(pg_dsn: str, pg_table: str) -> Iterator[tuple[str, str]]:
    """A role of the machine's server that may hold one connection (``CONNECTION LIMIT
    1``; trust auth lets it log in) and write ``pg_table``: its dsn and the table."""
    import psycopg

    role = f"sl_one_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
        conn.execute(f"CREATE TABLE {pg_table} (sl_id text PRIMARY KEY, x bigint)")
        conn.execute(f"GRANT SELECT, INSERT ON {pg_table} TO {role}")
    yield f"host=127.0.0.1 port=5432 user={role} dbname=postgres connect_timeout=5", pg_table
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,)
        )
        conn.execute(f"DROP OWNED BY {role}")  # its grant on the table
        conn.execute(f"DROP ROLE {role}")


def rows_in(pg_dsn: str, table: str) -> int:
    import psycopg

    with psycopg.connect(pg_dsn) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_login_over_the_connection_limit_waits_then_writes(pg_dsn, one_slot_role, caplog):
    import psycopg

    dsn, table = one_slot_role
    held = psycopg.connect(dsn)  # the role's one connection
    ctx = sl.Context()
    sl.write.to_postgres(table, dsn=dsn, retry_for=30).apply(pl.DataFrame({"x": [1, 2]}), ctx=ctx)
    (sink,) = ctx.sinks.values()
    # one attempt: "away", not a refusal, at once (no ConfigError, no ping-and-retry)
    started = time.monotonic()
    with pytest.raises(sl.SinkUnavailable) as err:
        sink.flush()
    assert time.monotonic() - started < 2
    assert "too many connections for role" in str(err.value)
    # the slot frees up in ~2 s: the flush waits for it and writes
    release = threading.Timer(2.0, held.close)
    release.start()
    started = time.monotonic()
    try:
        ctx.flush_sinks()
    finally:
        release.join()
        ctx.close_sinks()
    assert time.monotonic() - started >= 1.5
    assert rows_in(pg_dsn, table) == 2 and sink.rows_written == 2
    assert any("too many connections for role" in r.getMessage() for r in caplog.records)


def test_a_connection_limit_never_freed_stops_with_the_cause_after_retry_for(pg_dsn, one_slot_role):
    import psycopg

    dsn, table = one_slot_role
    ctx = sl.Context()
    sl.write.to_postgres(table, dsn=dsn, retry_for=3).apply(pl.DataFrame({"x": [1, 2]}), ctx=ctx)
    (sink,) = ctx.sinks.values()
    started = time.monotonic()
    with psycopg.connect(dsn), pytest.raises(sl.OperatorError) as err:
        ctx.flush_sinks()
    took = time.monotonic() - started
    ctx.close_sinks()
    assert not isinstance(err.value, sl.ConfigError | sl.SinkUnavailable), err.value
    msg = str(err.value)
    assert "\n" not in msg and "still unavailable" in msg and "nothing was committed" in msg
    role = dsn.split("user=")[1].split()[0]
    assert f'too many connections for role "{role}"' in msg  # the cause, in the server's words
    assert 3 <= took < 15 and sink.buffered == 2 and rows_in(pg_dsn, table) == 0


def test_a_server_shutting_down_under_a_session_is_waited_for(private_pg):
    # a smart shutdown (SIGTERM) waits for the open session; new logins meet 57P03
    import psycopg

    assert private_pg.proc is not None
    sink = sl.write.to_postgres("t", dsn=private_pg.dsn, create=True).open(sl.Context())
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1]})))
    held = psycopg.connect(private_pg.dsn)
    private_pg.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    while True:
        with pytest.raises(sl.SinkUnavailable) as err:
            sink.flush()
        if "shutting down" in str(err.value) or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # the signal may not have arrived yet
    assert "the database system is shutting down" in str(err.value)
    held.close()
    private_pg.proc.wait(30)
    private_pg.stop()
    private_pg.start()
    sink.flush()
    assert sink.rows_written == 1
    sink.close()


@pytest.mark.broker
def test_a_run_whose_role_has_no_free_connection_stops_naming_the_cause(
    kafka, topic_factory, one_slot_role
):
    import psycopg

    dsn, table = one_slot_role
    src = topic_factory()
    produce(kafka, src, [orjson.dumps({"a": 0.5, "n": i, "s": "x"}) for i in range(20)])
    env = {
        "SINK_SRC": src,
        "SINK_KIND": "postgres",
        "SINK_TABLE": table,
        "SINK_DSN": dsn,
        "SINK_RETRY_FOR": "4",
    }
    with psycopg.connect(dsn):  # held for the whole run
        done = run_sink_pipeline(kafka, src, f"pgbusy-{src}", env)
    assert done.returncode not in (0, 2), done.stderr  # not a ConfigError: it waited
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "too many connections for role" in errors[0] and "retry_for=4" in errors[0]
