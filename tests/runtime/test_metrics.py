"""The metrics feed on the local broker, and the same figures scraped by a real
Prometheus server (Debian's ``prometheus``, started by the test)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import numpy as np
import orjson
import pytest

import streamlearn as sl
from streamlearn.runtime.metrics import merge_reports
from tests.kafka_helpers import consume_all, produce

pytestmark = pytest.mark.broker


def points(n: int) -> list[bytes]:
    rng = np.random.default_rng(5)
    pts = np.array([[0.0, 0.0], [9.0, 9.0]])[rng.integers(0, 2, n)] + rng.normal(0, 0.3, (n, 2))
    return [orjson.dumps({"a": a, "b": b}) for a, b in pts.tolist()]


def pipeline(src: str, out: str) -> sl.Pipeline:
    return (
        sl.read.from_kafka(src)
        | sl.decode.json({"a": "float", "b": "float"})
        | sl.ml.sequential_k_means(["a", "b"], k=2, buffer_size=100, name="km")
        | sl.write.to_kafka(out)
    )


def test_reports_reach_the_metrics_topic_and_merge(kafka, topic_factory):
    src, out = topic_factory(partitions=2), topic_factory()
    produce(kafka, src, points(2000), keys=[str(i).encode() for i in range(2000)])
    name = f"m-{src}"
    stats = sl.run(pipeline(src, out), kafka=kafka, name=name, max_records=2000)
    reports = [orjson.loads(m.value()) for m in consume_all(kafka, f"{name}.metrics")]
    merged = merge_reports(reports)
    assert merged["records_in"] == stats.records_in == 2000
    assert merged["records_out"] == stats.records_out
    assert set(merged["steps"]) == {"km[0]", "km[1]"}
    assert len(merged["steps"]["km[0]"]["centroids"]) == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _query(port: int, expr: str) -> list:
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(expr)}"
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())["data"]["result"]


def test_prometheus_scrapes_the_run(kafka, topic_factory, tmp_path):
    # Debian's prometheus: .ci/services.sh installs it
    assert shutil.which("prometheus"), "apt-get install prometheus (see .ci/services.sh)"
    src, out = topic_factory(), topic_factory()
    produce(kafka, src, points(3000))
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
        pipeline(src, out),
        kafka=kafka,
        options=sl.RunOptions(name=f"p-{src}", metrics_port=metrics_port),
    )
    worker = threading.Thread(target=runner.run)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        result: list = []
        while time.monotonic() < deadline:
            if runner.stats.records_in == 3000:
                try:
                    result = _query(prom_port, 'streamlearn_records_in_total{job="sl"}')
                except OSError:
                    result = []
                if result and float(result[0]["value"][1]) == 3000:
                    break
            time.sleep(0.5)
        assert result and float(result[0]["value"][1]) == 3000
        centroid_figures = _query(prom_port, 'streamlearn_step{step="km"}')
        assert centroid_figures  # the step's numeric figures are exported too
    finally:
        runner.stop()
        worker.join(30)
        prom.terminate()
        prom.wait(10)
