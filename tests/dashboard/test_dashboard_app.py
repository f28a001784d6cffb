"""The board's server without a browser: the address and token checks on a real
socket, the metrics feed of a real run read back, and the event stream's first update;
the feed's start position."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import numpy as np
import orjson
import pytest

import streamlearn as sl
from streamlearn.core.errors import ConfigError
from streamlearn.dashboard import Dashboard, MetricsHistory
from streamlearn.dashboard.feed import MetricsFeed, _start_at
from streamlearn.kafka.config import KafkaConfig
from tests.datasets.conftest import mock_cluster, mock_kafka, mock_topic  # noqa: F401 (fixtures)
from tests.kafka_helpers import produce

NOWHERE = KafkaConfig("127.0.0.1:1")  # the checks below never need the cluster


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_beyond_loopback_without_token_is_refused_at_start():
    with pytest.raises(ConfigError, match="reachable from other machines: pass --token"):
        Dashboard(NOWHERE, "s1", host="0.0.0.0", port=0)
    with pytest.raises(ConfigError, match="token is empty"):
        Dashboard(NOWHERE, "s1", host="0.0.0.0", port=0, token=" ")


def test_a_busy_port_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ConfigError, match=r"cannot listen on 127\.0\.0\.1"):
            Dashboard(NOWHERE, "s1", port=s.getsockname()[1]).start()


def test_with_a_token_every_request_needs_it():
    with Dashboard(NOWHERE, "s1", host="0.0.0.0", port=0, token="s3cret") as board:
        assert "s3cret" not in repr(board)
        base = board.url.replace("0.0.0.0", "127.0.0.1")
        for path in ("", "api/state", "events", "static/dashboard.js"):
            status, _, _ = _get(base + path)
            assert status == 401, path
        assert _get(base + "api/state", {"Authorization": "Bearer wrong"})[0] == 401
        status, _, body = _get(base + "api/state", {"Authorization": "Bearer s3cret"})
        assert status == 200 and json.loads(body)["name"] == "s1"
        # the page once with ?token=: an HTTP-only cookie, and the token leaves the URL
        status, headers, _ = _get(base + "?token=s3cret")
        assert status == 303 and headers["location"] == "/"
        cookie = headers["set-cookie"].split(";")[0]
        assert "HttpOnly" in headers["set-cookie"]
        for path in ("", "static/dashboard.js", "static/uPlot.iife.min.js"):
            assert _get(base + path, {"Cookie": cookie})[0] == 200, path


def test_loopback_aliases_need_no_token():
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("no 127.0.0.2 loopback alias on this machine")
    with Dashboard(NOWHERE, "s1", host="127.0.0.2", port=0) as board:
        status, _, body = _get(board.url)
        assert status == 200 and b"s1 \xc2\xb7 streamlearn" in body


def test_history_drops_a_stopped_member_and_keeps_one_row_per_second():
    h = MetricsHistory(stale_after=5)
    h.add({"kind": "run", "member": "a", "ts": 10.1, "records_in": 1, "in_rate": 1.0})
    h.add({"kind": "run", "member": "b", "ts": 10.6, "records_in": 2, "in_rate": 2.0})
    assert [r["t"] for r in h.delta(0)["rows"]] == [10]
    assert h.delta(0)["rows"][-1]["v"]["in_rate"] == 3.0
    h.add({"kind": "run", "member": "b", "ts": 16.0, "records_in": 9, "in_rate": 2.0})
    assert h.merged()["members"] == ["b"]  # a's last report is 5.9 s old
    assert [r["t"] for r in h.delta(0)["rows"]] == [10, 16]
    h.add({"kind": "nonsense"})
    h.add({"kind": "run", "ts": "late"})
    assert h.reports == 3


@pytest.mark.broker
def test_the_feed_of_a_run_reaches_the_board(kafka, topic_factory):
    src, out = topic_factory(partitions=2), topic_factory()
    rng = np.random.default_rng(3)
    pts = rng.normal(0, 1, (1500, 2)).tolist()
    produce(
        kafka,
        src,
        [orjson.dumps({"a": a, "b": b}) for a, b in pts],
        keys=[str(i).encode() for i in range(1500)],
    )
    name = f"d-{src}"
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json({"a": "float", "b": "float"})
        | sl.ml.sequential_k_means(["a", "b"], k=2, buffer_size=100, name="km")
        | sl.write.to_kafka(out)
    )
    stats = sl.run(pipeline, kafka=kafka, name=name, max_records=1500)
    with Dashboard(kafka, name, port=0) as board:
        host, port = board.url.split("/")[2].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/events")
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("content-type").startswith("text/event-stream")
        update = None
        while update is None or update["now"]["records_in"] < 1500:
            line = resp.readline()
            assert line, "the event stream ended"
            if line.startswith(b"data: "):
                update = json.loads(line[6:])
        conn.close()
    assert update["now"]["records_in"] == stats.records_in == 1500
    assert update["now"]["records_out"] == stats.records_out
    assert set(update["now"]["steps"]) == {"km[0]", "km[1]"}
    assert update["rows"] and update["rows"][-1]["v"]["records_in"] == 1500
    assert len(update["trails"]["km[0]"][-1][1]) == 2  # the centroids' positions


def test_the_start_is_the_end_only_when_the_broker_answered_nothing_is_that_recent():
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, KafkaError, TopicPartition

    start = TopicPartition("m", 0, OFFSET_BEGINNING)
    assert _start_at(TopicPartition("m", 0, 42), start).offset == 42
    assert _start_at(TopicPartition("m", 0, OFFSET_END), start).offset == OFFSET_END
    # a partition without an answer (TopicPartition's error is read-only: a stand-in)
    failed = SimpleNamespace(offset=OFFSET_END, error=KafkaError(KafkaError.REQUEST_TIMED_OUT))
    assert _start_at(failed, start) is start  # from the start, skip by ts


@pytest.mark.broker
def test_a_feed_over_only_old_reports_starts_at_the_end(mock_kafka, mock_topic):  # noqa: F811
    """On librdkafka's mock cluster: it answers ``offsets_for_times`` with -1 whatever the
    time, which for a topic holding only older records is what Apache Kafka answers too
    (Tansu answers 0 whatever the time: it looks nothing up by time, so the feed there
    reads from the start and skips by ``ts``, as before)."""
    from confluent_kafka import OFFSET_END, Producer

    topic = mock_topic(2)
    old = time.time() - 3600  # an hour ago: out of a 15-minute window
    producer = Producer(mock_kafka.producer_config())
    for i in range(40):
        report = {"kind": "run", "member": "old", "ts": old + i, "records_in": i}
        producer.produce(
            topic, orjson.dumps(report), partition=i % 2, timestamp=int((old + i) * 1000)
        )
    assert producer.flush(10) == 0
    history = MetricsHistory()
    feed = MetricsFeed(mock_kafka, topic, history, minutes=15).start()
    try:
        deadline = time.monotonic() + 30
        while feed.start_offsets is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert feed.start_offsets == {0: OFFSET_END, 1: OFFSET_END}
        # new reports until one is read (one sent before librdkafka resolves the end
        # offset lands before the start position and is, rightly, not read)
        sent = 0
        while history.reports == 0 and time.monotonic() < deadline:
            report = {"kind": "run", "member": "new", "ts": time.time(), "records_in": 1000}
            producer.produce(topic, orjson.dumps(report), partition=sent % 2)
            assert producer.flush(10) == 0
            sent += 1
            time.sleep(0.5)
    finally:
        feed.stop()
    assert history.reports >= 1, "the new report was never read"
    # only new reports were read: none of the 40 old ones was fetched to be skipped
    assert feed.consumed == history.reports <= sent
    assert history.merged()["records_in"] == 1000
