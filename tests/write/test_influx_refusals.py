"""InfluxDB answers the sink does not wait for (401, 403, 404: a one-line ``ConfigError``
naming the database, at once) and those it does (5xx, a refused connection: the run
pauses and retries). Real ``influxd`` servers (one with authentication on); the 5xx come
from a loopback reverse proxy in front of a real server, as nginx answers 502/503 while
the server behind it is down."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.backoff import flush_waiting
from tests.kafka_helpers import produce, run_command
from tests.write.conftest import _unavailable
from tests.write.servers import Influxd, free_port

HERE = Path(__file__).parent


def points_sink(url: str, db: str, password: str | None = None) -> sl.write.influxdb.InfluxSink:
    user = "admin" if password is not None else None
    spec = sl.write.to_influxdb(
        "m", url=url, database=db, time="t", retry_for=30, username=user, password=password
    )
    sink = spec.open(sl.Context())
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1.5, 2.5], "t": [1, 2]})))
    return sink


def failure(sink) -> tuple[Exception, float]:
    started = time.monotonic()
    with pytest.raises(sl.StreamlearnError) as err:
        sink.flush()
    return err.value, time.monotonic() - started


@pytest.fixture
def auth_influxd() -> Iterator[Influxd]:
    server = Influxd(auth=True)
    try:
        server.start()
    except RuntimeError as exc:
        _unavailable(str(exc))
    yield server
    server.stop()


def as_admin(server: Influxd, q: str) -> dict:
    auth = urllib.parse.urlencode({"u": "admin", "p": "s3cret"})  # (1.x: in the URL)
    body = urllib.parse.urlencode({"q": q, "db": "iot"}).encode()
    with urllib.request.urlopen(f"{server.url}/query?{auth}", data=body, timeout=30) as r:
        answer = r.read()
    assert b'"error"' not in answer, answer
    return orjson.loads(answer)


def test_401_and_403_from_a_server_with_authentication_are_config_errors(auth_influxd):
    as_admin(auth_influxd, "CREATE USER admin WITH PASSWORD 's3cret' WITH ALL PRIVILEGES")
    as_admin(auth_influxd, 'CREATE DATABASE "iot"')
    # a write without credentials: 401
    sink = points_sink(auth_influxd.url, "iot")
    err, took = failure(sink)
    assert isinstance(err, sl.ConfigError) and "HTTP 401" in str(err), err
    assert f"InfluxDB database 'iot' at {auth_influxd.url}" in str(err)
    assert "\n" not in str(err) and took < 5
    assert len(sink._buffer) == 1  # the points stay buffered for a fixed setting
    # no user left: InfluxDB 1.x answers 403 ("user is required to write")
    as_admin(auth_influxd, "DROP USER admin")
    err, took = failure(sink)
    assert isinstance(err, sl.ConfigError) and "HTTP 403" in str(err), err
    assert "database 'iot'" in str(err) and took < 5


def test_a_user_and_password_write_and_wrong_or_no_credentials_are_config_errors(
    auth_influxd,
):
    # the first user may be made without credentials (1.x), then it is the only way in
    as_admin(auth_influxd, "CREATE USER admin WITH PASSWORD 's3cret' WITH ALL PRIVILEGES")
    as_admin(auth_influxd, 'CREATE DATABASE "iot"')
    spec = sl.write.to_influxdb(
        "m", url=auth_influxd.url, database="iot", username="admin", password="s3cret", time="t"
    )
    assert "s3cret" not in repr(spec) and "password=***" in repr(spec)
    sink = spec.open(sl.Context())
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1.5, 2.5], "t": [1, 2]})))
    sink.flush()
    got = as_admin(auth_influxd, "SELECT x FROM m")["results"][0]["series"][0]["values"]
    assert [v for _, v in got] == [1.5, 2.5] and sink.points_written == 2
    for password in ("wr0ng-pw", None):
        bad = points_sink(auth_influxd.url, "iot", password=password)
        started = time.monotonic()
        with pytest.raises(sl.ConfigError) as err:
            flush_waiting(bad.flush)  # waits for a server away, not for a refusal
        msg, took = str(err.value), time.monotonic() - started
        assert "HTTP 401" in msg and "\n" not in msg and took < 5, msg
        assert "database 'iot'" in msg and "wr0ng" not in msg
        assert ("user 'admin'" in msg) == (password is not None)


def test_unknown_database_names_it(influxd):
    err, _ = failure(points_sink(influxd.url, "sl_nope"))
    assert isinstance(err, sl.ConfigError) and "HTTP 404" in str(err)
    assert f"InfluxDB database 'sl_nope' at {influxd.url} refused" in str(err)


class Gateway:
    """A reverse proxy on loopback: forwards to ``upstream``, or answers ``code``."""

    def __init__(self, upstream: str) -> None:
        self.code: int | None = None
        self.answered: list[int] = []
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = gateway.code
                if code is None:
                    req = urllib.request.Request(upstream + self.path, data=body, method="POST")
                    with urllib.request.urlopen(req, timeout=30) as r:
                        code = r.status
                gateway.answered.append(code)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_5xx_are_retried_and_requests_the_server_cannot_serve_are_not(influxd, influx_db):
    gateway = Gateway(influxd.url)
    try:
        sink = points_sink(gateway.url, influx_db)
        for code in (500, 502, 503, 504, 507):
            gateway.code = code
            err, _ = failure(sink)
            assert isinstance(err, sl.SinkUnavailable) and f"HTTP {code}" in str(err), err
        gateway.code = 501
        err, _ = failure(sink)
        assert isinstance(err, sl.ConfigError) and "HTTP 501" in str(err)
        gateway.code = 503  # down behind the proxy, then back: the flush waits for it
        threading.Timer(1.0, lambda: setattr(gateway, "code", None)).start()
        flush_waiting(sink.flush)
        assert gateway.answered[-1] == 204 and sink.points_written == 2
    finally:
        gateway.close()
    # and nothing listening at all is "away" too
    err, _ = failure(points_sink(f"http://127.0.0.1:{free_port()}", influx_db))
    assert isinstance(err, sl.SinkUnavailable)


@pytest.mark.broker
def test_a_run_with_an_unknown_database_stops_at_once_naming_it(kafka, topic_factory, influxd):
    src = topic_factory()
    rows = [{"site": "a", "prediction": 1, "Temperature": 20.5}] * 30
    produce(kafka, src, [orjson.dumps(r) for r in rows])
    db = f"sl_missing_{uuid.uuid4().hex[:6]}"
    env = {"SINK_SRC": src, "SINK_KIND": "influx", "SINK_URL": influxd.url, "SINK_DB": db}
    cmd = run_command(f"{HERE / 'db_sink_pipeline.py'}:pipeline", kafka, f"infref-{src}")
    started = time.monotonic()
    done = subprocess.run(
        cmd,
        env={**os.environ, **env, "PYTHONPATH": str(HERE.parents[1] / "src")},
        cwd=HERE.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr  # a ConfigError, not "still unavailable"
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"database {db!r}" in errors[0] and "HTTP 404" in errors[0]
    assert time.monotonic() - started < 40  # the sink's retry_for is 60 s
