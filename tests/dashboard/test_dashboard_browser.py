"""The board in a real browser (headless Chromium driven by Playwright) while a pipeline
runs on the session broker: it loads without console errors, its numbers move, and a
screenshot is kept in ``tests/artifacts/dashboard.png``."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

import streamlearn as sl
from streamlearn.dashboard import Dashboard
from streamlearn.datasets.synth.late_labels import LateLabels
from streamlearn.demo.late_labels import FEATURES
from streamlearn.kafka.produce import produce

pytestmark = pytest.mark.broker
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"


def _pipeline(events: str, labels: str, out: str) -> sl.Pipeline:
    """S4's events clustered by k-means and classified online with their late labels:
    both kinds of step panels on one board."""
    return (
        sl.read.from_kafka(events)
        | sl.decode.json({"event_id": "string", **dict.fromkeys(FEATURES, "float")})
        | sl.ml.sequential_k_means(["f0", "f1"], k=3, buffer_size=300, name="clusters")
        | sl.ml.online_classifier(
            FEATURES,
            id="event_id",
            label="y",
            name="model",
            model=sl.ml.PassiveAggressive(C=0.1, multiclass="multiclass"),
            feedback=sl.read.from_kafka(labels),
        )
        | sl.write.to_kafka(out, columns=["event_id", "prediction", "cluster"])
    )


def _feed(kafka, events: str, labels: str, stop: threading.Event) -> None:
    from confluent_kafka import Producer

    producer = Producer(kafka.producer_config())
    where = {"event": events, "label": labels}
    stream = LateLabels(n_features=len(FEATURES))
    while not stop.is_set():
        for kind, key, value in stream.take(300):
            produce(producer, where[kind], value, key)
        producer.poll(0)
        time.sleep(0.1)
    producer.flush(10)


def _count(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text) or 0)


def test_dashboard_live_in_chromium(kafka, topic_factory):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (.ci/dashboard-deps.sh)"
    )
    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/dashboard-deps.sh)"
    events, labels, out = topic_factory(2), topic_factory(2), topic_factory()
    name = f"dash-{events}"
    runner = sl.Runner(
        _pipeline(events, labels, out),
        kafka=kafka,
        options=sl.RunOptions(name=name, metrics_interval=0.5),
    )
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(kafka, events, labels, stop), daemon=True)
    worker = threading.Thread(target=runner.run, daemon=True)
    worker.start()
    feeder.start()
    board = Dashboard(kafka, name, port=0).start()
    errors: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1440, "height": 900}, color_scheme="dark")
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(board.url)
            assert page.title() == f"{name} · streamlearn"
            big = page.locator("#stat-in .big")
            page.wait_for_function(
                "() => /[1-9]/.test(document.querySelector('#stat-in .big').textContent)",
                timeout=60_000,
            )
            first = _count(big.inner_text())
            page.wait_for_function(
                f"() => +document.querySelector('#stat-in .big').textContent"
                f".replace(/[^0-9]/g, '') > {first}",
                timeout=30_000,
            )
            second = _count(big.inner_text())
            assert second > first > 0
            # the step panels appear with real figures: centroids, then the learner's
            page.wait_for_selector("#step-clusters canvas", timeout=30_000)
            page.wait_for_function(
                "() => { const e = document.querySelector('#step-model-s0 .big');"
                " return e && /[0-9]/.test(e.textContent); }",
                timeout=60_000,
            )
            assert page.locator("#status").inner_text() == "● live"
            page.wait_for_timeout(3000)  # a few more seconds of history on the charts
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            page.click("#theme")  # the light theme redraws every chart
            page.wait_for_timeout(1500)
            light = ARTIFACTS / "dashboard-light.png"
            page.screenshot(path=str(light), full_page=True)
            print(f"\nscreenshots: {shot} {light}")
            page.close()
            browser.close()
    finally:
        board.stop()
        stop.set()
        runner.stop()
        worker.join(30)
        feeder.join(10)
    assert not errors, errors
