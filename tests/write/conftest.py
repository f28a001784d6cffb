"""Fixtures of the sink tests: the machine's PostgreSQL (a fresh table per test), an
InfluxDB 1.x started once per session (``.ci/services.sh`` installs and starts both), and
private servers of one test's own, for the tests that stop them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.write.servers import PG_DSN, Influxd, PrivatePostgres


def _unavailable(reason: str) -> None:
    # in CI a missing server is a failure, not a silent skip
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg not installed: pip install -e '.[postgres]'")
    try:
        psycopg.connect(PG_DSN).close()
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc}); run .ci/services.sh")
    return PG_DSN


@pytest.fixture
def pg_table(pg_dsn: str) -> Iterator[str]:
    import psycopg

    name = f"sl_test_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the test's own, which it may stop and start."""
    try:
        server = PrivatePostgres().init()
    except (RuntimeError, OSError) as exc:
        _unavailable(str(exc))
    yield server
    server.remove()


@pytest.fixture
def private_influxd() -> Iterator[Influxd]:
    """An InfluxDB of the test's own, which it may stop (:meth:`Influxd.halt`) and start."""
    server = Influxd()
    try:
        server.start()
    except RuntimeError as exc:
        _unavailable(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def influxd() -> Iterator[Influxd]:
    server = Influxd()
    try:
        server.start()
    except RuntimeError as exc:
        _unavailable(str(exc))
    yield server
    server.stop()


@pytest.fixture
def influx_db(influxd: Influxd) -> str:
    name = f"sl_{uuid.uuid4().hex[:10]}"
    influxd.query(f'CREATE DATABASE "{name}"')
    return name
