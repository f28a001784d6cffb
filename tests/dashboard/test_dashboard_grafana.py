"""The Grafana files shipped in ``streamlearn/dashboard/grafana/``: they load, every
Prometheus metric they query is one the runtime's exporter really serves (scraped from
a running ``serve_prometheus``), and the InfluxDB board reads the measurement and fields
of the S2 example the docs name (``example_2``: ``prediction``, ``Temperature``)."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml

import streamlearn as sl
from streamlearn.ml.metrics import ClassificationMetrics, RegressionMetrics
from streamlearn.runtime.metrics import serve_prometheus
from streamlearn.runtime.stats import RunStats

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
