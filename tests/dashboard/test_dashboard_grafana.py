"""The Grafana files shipped in ``streamlearn/dashboard/grafana/``: they load, every
Prometheus metric they query is one the runtime's exporter really serves (scraped from
a running ``serve_prometheus``), and the InfluxDB board reads the measurement and fields
of the S2 example the docs name (``example_2``: ``prediction``, ``Temperature``)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import orjson
import pytest
import yaml

import streamlearn as sl
from streamlearn.ml.metrics import ClassificationMetrics, RegressionMetrics
from streamlearn.runtime.metrics import serve_prometheus
from streamlearn.runtime.stats import RunStats
from tests.kafka_helpers import produce
from tests.serve.houses import FEATURES, SCHEMA, linear_onnx

GRAFANA = Path(sl.__file__).parent / "dashboard" / "grafana"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"


def _dashboards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(GRAFANA.glob("*.json"))}


def _queries(board: dict) -> list[str]:
    return [
        t.get("expr") or t.get("query") or "" for p in board["panels"] for t in p.get("targets", [])
    ]


def test_the_files_load_as_grafana_boards_and_provisioning():
    boards = _dashboards()
    assert set(boards) == {"streamlearn-prometheus.json", "streamlearn-s2-influxdb.json"}
    for name, b in boards.items():
        assert b["uid"] and b["title"] and b["schemaVersion"] >= 36, name
        ids = [p["id"] for p in b["panels"]]
        assert len(ids) == len(set(ids)), name
        for p in b["panels"]:
            assert (
                set(p["gridPos"]) == {"h", "w", "x", "y"}
                and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
            ), (name, p["title"])
            if p["type"] != "row":
                assert p["targets"] and p["datasource"]["uid"] == "${datasource}", p["title"]
        variables = {v["name"]: v for v in b["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
    sources = yaml.safe_load((GRAFANA / "datasources.yaml").read_text())
    assert sources["apiVersion"] == 1
    kinds = {d["uid"]: d["type"] for d in sources["datasources"]}
    assert kinds == {
        "streamlearn-prometheus": "prometheus",
        "streamlearn-influxdb": "influxdb",
        "streamlearn-influxdb2": "influxdb",
    }
    providers = yaml.safe_load((GRAFANA / "dashboards.yaml").read_text())["providers"]
    assert providers[0]["type"] == "file"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_prometheus_metric_queried_is_exported():
    # a run as the exporter sees it: real learner and k-means figures, end-to-end latency
    stats = RunStats(records_in=10, records_out=7, in_rate=5.0, last_batch_ms=3.0)
    stats.record_output_latency(np.array([996, 991]), now_ms=1000.0)  # 4 and 9 ms old
    stats.lag = {"trades[0]": 12, "trades[1]": 0}  # what Runner._lag leaves there
    clf, reg = ClassificationMetrics(), RegressionMetrics()
    clf.update(np.array(["a", "b", "a"]), np.array(["a", "b", "b"]))
    reg.update(np.array([1.0, 2.0]), np.array([1.5, 2.0]))
    figures = {
        "model[0]": {**clf.as_dict(), "pending_events": 2, "waiting_labels": 1},
        "reg[0]": reg.as_dict(),
        "km[0]": {"centroids": [[0.0, 1.0], [2.0, 3.0]], "counts": [4, 5], "features": ["a", "b"]},
    }
    port = _free_port()
    server = serve_prometheus(port, lambda: (stats, figures), pipeline="s1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        server.shutdown()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    exported = {re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s).group(0) for s in samples}
    step_figures = set(re.findall(r'streamlearn_step\{[^}]*figure="([^"]+)"', text))
    board = _dashboards()["streamlearn-prometheus.json"]
    queries = _queries(board) + [json.dumps(v.get("query")) for v in board["templating"]["list"]]
    used = {m for q in queries for m in re.findall(r"\bstreamlearn_[a-z0-9_]+", q)}
    assert used and used <= exported, sorted(used - exported)
    # and the step figures the panels select exist in the exporter's output
    literals = [
        m.replace("\\\\", "\\")
        for q in queries
        for m in re.findall(r'figure=~"((?:[^"\\\\]|\\\\.)*)"', q)
    ]
    assert len(literals) >= 5
    for alternative in (a for lit in literals for a in lit.split("|")):
        assert any(re.fullmatch(alternative, f) for f in step_figures), alternative


def test_the_influxdb_board_reads_the_documented_measurement():
    board = _dashboards()["streamlearn-s2-influxdb.json"]
    queries = _queries(board)
    assert {m for q in queries for m in re.findall(r'FROM "([^"]+)"', q)} == {"example_2"}
    fields = {f for q in queries for f in re.findall(r'\(\s*"([^"]+)"\s*\)', q)}
    assert fields == {"prediction", "Temperature"}
    assert all("$timeFilter" in q for q in queries)
    assert "example_2" in DOCS.read_text() and "Temperature" in DOCS.read_text()


def test_the_influxdb_sink_writes_that_measurement():
    """Once ``sl.write.to_influxdb`` exists (the sinks work): its points carry the
    measurement and fields the board queries."""
    to_influxdb = getattr(sl.write, "to_influxdb", None)
    if to_influxdb is None:
        pytest.skip("sl.write.to_influxdb is not on this branch yet")
    import polars as pl

    sink = to_influxdb("example_2", database="streamlearn", time="at", precision="s")
    line = sink.lines(
        sl.Batch.from_frame(
            pl.DataFrame({"prediction": [3], "Temperature": [55], "at": [1_700_000_000]})
        )
    )
    assert line.startswith("example_2 ") and "prediction=3i" in line
    assert "Temperature=55i" in line


def _query(port: int, expr: str) -> dict:
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(expr)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:  # a query Prometheus cannot parse: 400
        return json.loads(exc.read())


def _as_prometheus_sees_it(expr: str) -> str:
    """A panel's query with Grafana's variables filled in as "All" and a rate window."""
    return (
        expr.replace('"$pipeline"', '".*"').replace('"$step"', '".*"')
        .replace("$__rate_interval", "1m").replace("$__interval", "15s")
    )  # fmt: skip


#: the panels a run of ``sl.ml.predict(split=...)`` on a 2-partition topic must fill
RUN_PANELS = {
    "Records in",
    "Consumer lag per partition",
    "Paused for a sink's database",
    "Model version",
    "A/B traffic split",
    "Rows scored per model version",
    "A/B traffic share over time",
}


@pytest.mark.broker
def test_every_panel_query_runs_on_a_real_prometheus_scraping_a_real_run(
    kafka, topic_factory, tmp_path
):
    """A real A/B-split run (two model versions on their aliases, 2 partitions) serves
    /metrics, a real Prometheus scrapes it; every query of the board must be one
    Prometheus accepts, every panel must query a ``streamlearn_`` metric, and the panels
    for lag per partition, pauses, model versions and the traffic split must show data."""
    assert shutil.which("prometheus"), "apt-get install prometheus (see .ci/services.sh)"
    n = 4_000
    src, out = topic_factory(partitions=2), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    for alias, w in (("champion", [1, 0, 0, 0]), ("challenger", [0, 1, 0, 0])):
        reg.push(linear_onnx(w), name="hp", format="onnx", alias=alias, signature=FEATURES)
    row = {"rooms": 1.0, "area": 2.0, "age": 0.0, "distance": 0.0}
    produce(
        kafka,
        src,
        [orjson.dumps({"id": i, **row}) for i in range(n)],
        keys=[f"k{i % 500}".encode() for i in range(n)],
    )
    pipeline = (
        sl.read.from_kafka(src)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict(
            "hp", split={"champion": 0.7, "challenger": 0.3}, topic=control, artifact_topic=arts
        )
        | sl.write.to_kafka(out, partitions=1)
    )
    metrics_port, prom_port = _free_port(), _free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: sl\n    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
    )
    prom = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runner = sl.Runner(
        pipeline, kafka=kafka, options=sl.RunOptions(name=f"g-{src}", metrics_port=metrics_port)
    )
    worker = threading.Thread(target=runner.run)
    worker.start()
    board = _dashboards()["streamlearn-prometheus.json"]
    panels = [p for p in board["panels"] if p["type"] != "row"]
    try:
        deadline, empty = time.monotonic() + 90, set(RUN_PANELS)
        while empty and time.monotonic() < deadline:
            time.sleep(1.0)
            if runner.stats.records_out < n:
                continue
            for p in panels:
                if p["title"] in empty and all(
                    _query(prom_port, _as_prometheus_sees_it(t["expr"]))
                    .get("data", {})
                    .get("result")
                    for t in p["targets"]
                ):
                    empty.discard(p["title"])
        assert not empty, f"panels with no data from a real run: {sorted(empty)}"
        for p in panels:
            for t in p["targets"]:
                assert re.search(r"\bstreamlearn_[a-z0-9_]+", t["expr"]), p["title"]
                answer = _query(prom_port, _as_prometheus_sees_it(t["expr"]))
                assert answer["status"] == "success", (p["title"], answer.get("error"))
        lag = _query(prom_port, "streamlearn_consumer_lag")["data"]["result"]
        assert {(r["metric"]["topic"], r["metric"]["partition"]) for r in lag} == {
            (src, "0"),
            (src, "1"),
        }
        split = _query(
            prom_port, _as_prometheus_sees_it(panels_by_title(board)["A/B traffic split"])
        )
        shares = {
            r["metric"]["step"].rsplit(".", 1)[1]: float(r["value"][1])
            for r in split["data"]["result"]
        }
        assert set(shares) == {"champion", "challenger"} and sum(shares.values()) == n
    finally:
        runner.stop()
        worker.join(30)
        prom.terminate()
        prom.wait(10)


def panels_by_title(board: dict) -> dict[str, str]:
    """The first query of each panel, by title."""
    return {p["title"]: p["targets"][0]["expr"] for p in board["panels"] if p.get("targets")}
