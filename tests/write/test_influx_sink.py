"""The InfluxDB sink: line protocol escaping (offline), points written to a real
InfluxDB 1.6 and read back by a query, replays that overwrite, a server away during a
flush, and a pipeline SIGKILLed after a flush and restarted (no doubled points)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.backoff import flush_waiting
from tests.kafka_helpers import produce, run_command
from tests.write.servers import TcpProxy

HERE = Path(__file__).parent


def test_line_protocol_escapes_and_types():
    spec = sl.write.to_influxdb("my meas,x", database="d", tags=["site", "k"], time="t")
    df = pl.DataFrame(
        {
            "site": ["a b,c=d", "", None],
            "k": ["1", "2", "3"],
            "f": [1.5, float("nan"), None],
            "i": [7, None, None],
            "b": [True, False, None],
            "s": ['q"\\', None, None],
            "t": [1, 2, 3],
        }
    )
    assert spec.lines(sl.Batch.from_frame(df)).split("\n") == [
        'my\\ meas\\,x,k=1,site=a\\ b\\,c\\=d f=1.5,i=7i,b=true,s="q\\"\\\\" 1',
        "my\\ meas\\,x,k=2 b=false 2",  # NaN and nulls left out, empty tag left out
    ]  # the third row has no field left: no point


def test_endpoints_for_1x_and_2x():
    one = sl.write.to_influxdb("m", url="http://h:8086/", database="db", precision="us", time="t")
    assert one.endpoint() == ("http://h:8086/write?db=db&precision=u", {})
    two = sl.write.to_influxdb(
        "m", url="http://h:8086", bucket="b", org="o", token="s3cr3t-t0k", time="t"
    )
    assert two.endpoint() == (
        "http://h:8086/api/v2/write?bucket=b&org=o&precision=ms",
        {"Authorization": "Token s3cr3t-t0k"},
    )
    assert "s3cr3t" not in repr(two)
    # 1.x with auth-enabled: Basic auth, the password kept out of the URL and the repr
    user = sl.write.to_influxdb(
        "m", url="http://h:8086", database="db", username="u", password="p w"
    )
    assert user.endpoint() == (
        "http://h:8086/write?db=db&precision=ns",
        {"Authorization": "Basic dTpwIHc="},
    )
    assert "p w" not in repr(user) and "username='u', password=***" in repr(user)
    with pytest.raises(sl.ConfigError, match="go together"):
        sl.write.to_influxdb("m", database="db", password="p")
    with pytest.raises(sl.ConfigError, match=r"2\.x takes token="):
        sl.write.to_influxdb("m", bucket="b", org="o", username="u", password="p")
    with pytest.raises(sl.ConfigError, match=r"database= .* or bucket="):
        sl.write.to_influxdb("m")


def series(influxd, db: str) -> list[list]:
    out = influxd.query(
        'SELECT "prediction", "Temperature", "site" FROM "reading" ORDER BY time', db=db
    )
    return out["results"][0].get("series", [{}])[0].get("values", [])


def frame(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "site": [f"s {i % 3}" for i in range(n)],
            "prediction": [i % 4 for i in range(n)],
            "Temperature": [20 + i / 10 for i in range(n)],
            "at": [1_700_000_000_000 + i for i in range(n)],
        }
    )


def test_points_are_written_and_a_replay_overwrites(influxd, influx_db):
    spec = sl.write.to_influxdb(
        "reading", url=influxd.url, database=influx_db, tags=["site"], time="at"
    )
    batch = sl.Batch.from_frame(frame(1000))
    for _ in range(2):  # a second run writing the same rows again
        sink = spec.open(sl.Context())
        sink.write(batch)
        sink.flush()
    got = series(influxd, influx_db)
    assert len(got) == 1000
    assert got[5][1:] == [1, 20.5, "s 2"] and got[5][0] == "2023-11-14T22:13:20.005Z"


def test_server_away_during_a_flush_is_retried(influxd, influx_db):
    with TcpProxy(influxd.port) as proxy:
        proxy.cut()
        spec = sl.write.to_influxdb(
            "reading",
            url=f"http://127.0.0.1:{proxy.port}",
            database=influx_db,
            tags=["site"],
            time="at",
            retry_for=30,
        )
        sink = spec.open(sl.Context())
        sink.write(sl.Batch.from_frame(frame(10)))
        with pytest.raises(sl.SinkUnavailable, match=f"InfluxDB database {influx_db!r} at"):
            sink.flush()  # one attempt; the points stay buffered
        threading.Timer(1.5, proxy.restore).start()
        flush_waiting(sink.flush)  # what Context.flush_sinks does offline
    assert len(series(influxd, influx_db)) == 10


def test_unknown_database_is_a_config_error(influxd):
    sink = sl.write.to_influxdb("m", url=influxd.url, database="nope", time="t").open(sl.Context())
    sink.write(sl.Batch.from_frame(pl.DataFrame({"x": [1], "t": [1]})))
    with pytest.raises(sl.ConfigError, match="database not found"):
        sink.flush()


@pytest.mark.broker
def test_pipeline_killed_after_a_flush_and_replayed_writes_each_point_once(
    kafka, topic_factory, influxd, influx_db
):
    n = 3_000
    src = topic_factory()
    rows = [
        {"site": f"s{i % 3}", "prediction": i % 4, "Temperature": 20 + i / 10} for i in range(n)
    ]
    values = [orjson.dumps(r) for r in rows]
    env = dict(
        os.environ,
        SINK_SRC=src,
        SINK_KIND="influx",
        SINK_URL=influxd.url,
        SINK_DB=influx_db,
        SINK_BATCH="200",
    )
    cmd = [
        sys.executable,
        "-m",
        "streamlearn.cli.main",
        "run",
        f"{HERE / 'db_sink_pipeline.py'}:pipeline",
        "--name",
        f"influx-{src}",
        "-b",
        kafka.bootstrap_servers,
        "-X",
        "session.timeout.ms=2000",
        "-X",
        "heartbeat.interval.ms=300",
        "--commit-interval",
        "0.2",
    ]
    # the first half is flushed and committed (in one flush or several, as the records
    # come); the first flush of second-half records kills the run
    produce(kafka, src, values[: n // 2])
    victim = subprocess.Popen(
        cmd,
        env=dict(env, SINK_KILL_AFTER_ROWS=str(n // 2)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(series(influxd, influx_db)) < n // 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # past the commit that follows the first flush
    produce(kafka, src, values[n // 2 :])
    assert victim.wait(60) == -9, victim.stderr.read().decode()[-2000:]
    assert n // 2 < len(series(influxd, influx_db)) <= n  # durable, offsets not committed
    done = subprocess.run([*cmd, "--idle-timeout", "3"], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    got = series(influxd, influx_db)
    # one point per record, with the record's values: nothing doubled, nothing missing
    assert len(got) == n
    by_site = sorted((v[3], v[1], v[2]) for v in got)
    assert by_site == sorted((r["site"], r["prediction"], r["Temperature"]) for r in rows)


@pytest.mark.broker
def test_influxdb_stopped_mid_run_pauses_the_run_and_loses_nothing(
    kafka, topic_factory, private_influxd, tmp_path
):
    """The server (the test's own) stops for 10 s while records keep coming: the run
    pauses its 2 partitions, stays in its group (``max.poll.interval.ms`` 6 s), resumes
    when it is back, and every record is one point."""
    n, outage, db = 4_000, 10.0, "sl_pause"
    private_influxd.query(f'CREATE DATABASE "{db}"')
    src = topic_factory(2)
    rows = [
        {"site": f"s{i % 3}", "prediction": i % 4, "Temperature": 20 + i / 10} for i in range(n)
    ]
    values, keys = [orjson.dumps(r) for r in rows], [str(i).encode() for i in range(n)]
    produce(kafka, src, values[: n // 2], keys[: n // 2])
    env = dict(
        os.environ, SINK_SRC=src, SINK_KIND="influx", SINK_URL=private_influxd.url, SINK_DB=db
    )
    cmd = run_command(
        f"{HERE / 'db_sink_pipeline.py'}:pipeline",
        kafka,
        f"influx-{src}",
        "--idle-timeout",
        "8",
        "--json",
        "-X",
        "max.poll.interval.ms=6000",
        session_ms=2000,
        heartbeat_ms=300,
    )
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        run = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=stderr)
        try:
            deadline = time.monotonic() + 60
            while len(series(private_influxd, db)) < n // 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(series(private_influxd, db)) == n // 2
            private_influxd.halt()
            produce(kafka, src, values[n // 2 :], keys[n // 2 :])
            time.sleep(outage)
            assert run.poll() is None  # waiting for the server, not stopped
            private_influxd.start()
            assert run.wait(120) == 0, err.read_text()[-2000:]
        finally:
            if run.poll() is None:
                run.kill()
    stats = orjson.loads(out.read_text().strip().splitlines()[-1])
    assert stats["sink_pauses"] >= 1 and stats["paused_s"] >= outage - 4
    assert stats["assignments"] == 1 and stats["paused_partitions"] == 0
    assert "paused 2 partitions for" in err.read_text()
    got = series(private_influxd, db)
    assert sorted((v[3], v[1], v[2]) for v in got) == sorted(
        (r["site"], r["prediction"], r["Temperature"]) for r in rows
    )
