"""The series panels' reader: ``--series`` specs, the bucketed buffer against a plain
reference, its memory bound, and the reader on the session broker (time from a column
and from the record timestamp), served in ``/api/state`` and the event stream."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from collections import defaultdict

import numpy as np
import orjson
import pytest
import typer
from typer.testing import CliRunner

from streamlearn.cli.dashboard_cmd import dashboard
from streamlearn.core.errors import ConfigError
from streamlearn.dashboard import Dashboard
from streamlearn.dashboard.series import (
    SeriesBuffer,
    SeriesFeed,
    SeriesSpec,
    parse_series,
    parse_time,
)
from streamlearn.kafka.config import KafkaConfig


@pytest.mark.parametrize(
    "text",
    ["example_2", ":Temperature", "example_2:", "example_2:a,a", "example_2:a@", "t:,"],
)
def test_a_bad_spec_is_one_line(text):
    with pytest.raises(ConfigError, match="--series"):
        parse_series(text)


def test_specs_round_trip():
    for text in ("example_2:Temperature,prediction", "o:x@time", "a.b-c:y"):
        assert str(parse_series(text)) == text
    assert parse_series(" o : x , y @ ts ") == SeriesSpec("o", ("x", "y"), "ts")


def _reference(times, xs, width, points):
    """Buckets of the newest ``points`` bucket widths: last, min, max of x per bucket,
    computed the plain way (records older than the window when they came are skipped)."""
    buckets: dict[int, list] = {}
    newest = None
    for t, x in zip(times, xs, strict=True):
        i = int(np.floor(t / width))
        if newest is not None and i <= newest - points:
            continue
        newest = i if newest is None else max(newest, i)
        b = buckets.setdefault(i, [x, x, x])
        b[0], b[1], b[2] = x, min(b[1], x), max(b[2], x)
    return {i: b for i, b in buckets.items() if i > newest - points}


def test_buffer_equals_a_plain_reference_and_stays_bounded():
    rng = np.random.default_rng(5)
    n, seconds, points = 60_000, 300.0, 100
    # mostly in order, some records seconds late, a few older than the window (400 s
    # late), over 3000 s of series time
    times = np.sort(rng.uniform(0, 3000, n)) - rng.exponential(2.0, n) * (rng.random(n) < 0.1)
    times -= 400 * (rng.random(n) < 0.01)
    xs = rng.integers(40, 71, n)
    buf = SeriesBuffer(SeriesSpec("t", ("x",)), seconds=seconds, points=points)
    most = 0
    for k, (t, x) in enumerate(zip(times, xs, strict=True)):
        buf.add(float(t), {"x": int(x)})
        if k % 997 == 0:
            most = max(most, len(buf.delta(0)["points"]))
    d = buf.delta(0)
    assert max(most, len(d["points"])) <= points
    want = _reference(times.tolist(), xs.tolist(), seconds / points, points)
    got = {round(p[0] / buf.width): p[1:] for p in d["points"]}
    assert got == want
    assert d["records"] + d["skipped"] == n and d["skipped"] > 0
    assert d["last"] == {"x": int(xs[-1])}
    assert d["from"] == pytest.approx(d["points"][0][0])


def test_delta_sends_only_the_buckets_that_moved():
    buf = SeriesBuffer(SeriesSpec("t", ("a", "b")), seconds=10, points=10)
    for t in range(5):
        buf.add(t + 0.5, {"a": t, "b": -t})
    seen = buf.delta(0)["seq"]
    buf.add(3.9, {"a": 9})  # a late record, only column a
    buf.add(5.1, {"b": True})  # a boolean is 0/1
    buf.add(5.2, {"a": "x", "b": None})  # no number: skipped
    d = buf.delta(seen)
    assert d["points"] == [[3.0, 9, 3, 9, -3, -3, -3], [5.0, None, None, None, 1, 1, 1]]
    assert d["skipped"] == 1 and d["last"] == {"a": 9, "b": 1}


def test_time_values():
    assert parse_time("2026-01-01T00:00:00") == 1767225600.0
    assert parse_time("2026-01-01T01:00:00+01:00") == 1767225600.0
    assert parse_time(1767225600) == parse_time(1767225600.0) == 1767225600.0
    for scale in (1e3, 1e6, 1e9):
        assert parse_time(int(1767225600 * scale)) == pytest.approx(1767225600.0)
    assert parse_time(None) is None and parse_time("") is None and parse_time([1]) is None


def test_the_cli_refuses_a_bad_series_in_one_line():
    app = typer.Typer()
    app.command("dashboard")(dashboard)
    app.command("noop")(lambda: None)
    out = CliRunner().invoke(
        app, ["dashboard", "--name", "s2", "-b", "127.0.0.1:1", "--series", "example_2"]
    )
    assert out.exit_code == 2
    assert "expected TOPIC:COLUMN" in out.output and "Traceback" not in out.output


def _produce(kafka: KafkaConfig, topic: str, rows, timestamps=None) -> None:
    from confluent_kafka import Producer

    p = Producer(kafka.producer_config())
    for i, v in enumerate(rows):
        extra = {"timestamp": timestamps[i]} if timestamps is not None else {}
        p.produce(topic, v, **extra)
    assert p.flush(30) == 0


def _wait(buf: SeriesBuffer, records: int, skipped: int = 0, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = buf.delta(0)
        if d["records"] >= records and d["skipped"] >= skipped:
            return d
        time.sleep(0.1)
    raise AssertionError(f"the reader took {buf.records} records, {buf.skipped} skipped")


@pytest.mark.broker
def test_the_reader_takes_a_time_column_and_skips_junk(kafka, topic_factory):
    topic = topic_factory(partitions=2)
    rows = [
        orjson.dumps(
            {"time": f"2026-01-01 00:{m:02d}:{s:02d}", "T": 40 + (m * 60 + s) % 31, "p": m}
        )
        for m in range(10)
        for s in range(60)
    ]
    _produce(kafka, topic, [*rows, b"junk", b"[1]", b'{"time": "later", "T": 1}'])
    buf = SeriesBuffer(parse_series(f"{topic}:T,p@time"), seconds=600, points=60)
    feed = SeriesFeed(kafka, buf).start()
    try:
        d = _wait(buf, len(rows), skipped=3)
    finally:
        feed.stop()
    assert d["records"] == 600 and d["skipped"] == 3
    by_bucket: dict[float, list] = defaultdict(list)
    for r in map(orjson.loads, rows):
        t = parse_time(r["time"])
        by_bucket[t - t % 10].append((r["T"], r["p"]))
    assert [p[0] for p in d["points"]] == sorted(by_bucket)
    for p in d["points"]:
        vals = by_bucket[p[0]]
        ts, ps = [v[0] for v in vals], [v[1] for v in vals]
        # min and max are order-free; the last value is the last of one partition
        assert p[2:4] == [min(ts), max(ts)] and p[5:7] == [min(ps), max(ps)]
        assert p[1] in ts and p[4] in ps


@pytest.mark.broker
def test_record_timestamps_on_the_board(kafka, topic_factory):
    topic = topic_factory()
    now_ms = int(time.time() * 2) * 500  # on a bucket's edge
    stamps = [now_ms - 120_000 + 100 * i for i in range(1200)]  # 2 min, 10 per second
    _produce(kafka, topic, [orjson.dumps({"y": i}) for i in range(1200)], stamps)
    name = f"nothing-{topic}"  # no pipeline: the board waits for its metrics topic
    with Dashboard(kafka, name, port=0, minutes=5, series=[f"{topic}:y"]) as board:
        d = _wait(board.series[0], 1200)
        with urllib.request.urlopen(board.url + "api/state", timeout=10) as r:
            state = json.loads(r.read())
        (s,) = state["series"]
        assert s["columns"] == ["y"] and s["time"] is None and s["records"] == 1200
        assert s["points"] == d["points"] and s["width"] == 0.5
        # a bucket of 0.5 s holds 5 records, its last one is the newest of them
        assert len(s["points"]) == 240
        assert [p[0] for p in s["points"]] == [
            (now_ms - 120_000) / 1000 + i / 2 for i in range(240)
        ]
        assert all(p[1:] == [5 * i + 4, 5 * i, 5 * i + 4] for i, p in enumerate(s["points"]))
        # the event stream: every bucket once, then only the new ones
        host, port = board.url.split("/")[2].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/events")
        resp = conn.getresponse()
        updates: list[dict] = []
        while not updates or not updates[-1]["series"][0]["points"] or len(updates) == 1:
            line = resp.readline()
            assert line, "the event stream ended"
            if line.startswith(b"data: "):
                updates.append(json.loads(line[6:]))
                if len(updates) == 1:
                    _produce(kafka, topic, [orjson.dumps({"y": -1})], [now_ms + 60_000])
        conn.close()
    assert len(updates[0]["series"][0]["points"]) == 240
    later = [p for u in updates[1:] for p in u["series"][0]["points"]]
    assert later == [[(now_ms + 60_000) / 1000, -1, -1, -1]]
