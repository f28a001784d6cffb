"""Scenario S2's board in a real browser: the S2 model trained offline and pushed to a
registry, the scoring pipeline (``streamlearn.demo.temperature_regimes.scoring``) running
on the session broker, readings replayed into ``example_1``, and the board plotting
``example_2``'s temperature and predicted regime over the readings' time. Headless
Chromium (Playwright): both lines are drawn and move, no console errors, a screenshot in
``tests/artifacts/dashboard-s2.png``."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import streamlearn as sl
from streamlearn.dashboard import Dashboard
from streamlearn.datasets.synth import generate_temperature, generate_temperature_frame
from streamlearn.demo.temperature_regimes import scoring
from streamlearn.kafka.produce import produce

pytestmark = pytest.mark.broker
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"


def _replay(kafka, topic: str, stop: threading.Event) -> None:
    """Readings one data-second apart, 100 every 0.1 s: an hour of data in 36 s."""
    from confluent_kafka import Producer

    producer = Producer(kafka.producer_config())
    sent, start = 0, dt.datetime(2026, 1, 1)
    while not stop.is_set():
        for v in generate_temperature(100, seed=7 + sent, start=start + dt.timedelta(seconds=sent)):
            produce(producer, topic, v, None)
        sent += 100
        producer.poll(0)
        time.sleep(0.1)
    producer.flush(10)


def _pixels(png: bytes, hex_color: str) -> int:
    """Pixels of the chart within a small distance of one of the board's colours."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img - rgb).sum(axis=2) < 40).sum())


def test_dashboard_plots_s2_temperature_and_regime_live(kafka, topic_factory, tmp_path):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (.ci/dashboard-deps.sh)"
    )
    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/dashboard-deps.sh)"
    example_1, example_2 = topic_factory(prefix="example_1"), topic_factory(prefix="example_2")
    control, artifacts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    model = f"s2-{uuid.uuid4().hex[:6]}"
    report = sl.train.regimes(
        generate_temperature_frame(20_000, seed=3),
        out=tmp_path / "model",
        name=model,
        kafka=kafka,
        registry_topic=control,
        artifact_topic=artifacts,
    )
    assert report.k == 6
    name = f"s2-{model}"
    runner = sl.Runner(
        scoring(
            source=example_1, sink=example_2, model=model, topic=control, artifact_topic=artifacts
        ),
        kafka=kafka,
        options=sl.RunOptions(name=name, metrics_interval=0.5),
    )
    stop = threading.Event()
    worker = threading.Thread(target=runner.run, daemon=True)
    feeder = threading.Thread(target=_replay, args=(kafka, example_1, stop), daemon=True)
    worker.start()
    feeder.start()
    spec = f"{example_2}:Temperature,prediction@time"
    board = Dashboard(kafka, name, port=0, minutes=60, series=[spec]).start()
    sid = "series-" + re.sub(r"\W", "_", spec)
    errors: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, color_scheme="dark")
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(board.url)
            now_t = page.locator(f"#{sid}-c0 .big")
            page.wait_for_function(
                f"() => {{ const e = document.querySelector('#{sid}-c1 .big');"
                " return e && /[0-9]/.test(e.textContent); }",
                timeout=90_000,
            )
            page.wait_for_timeout(4000)  # some history on the chart
            temp = int(now_t.inner_text())
            regime = int(page.locator(f"#{sid}-c1 .big").inner_text())
            assert 40 <= temp <= 70 and 0 <= regime < 6
            at = page.locator(f"#{sid}-c0 .sub").inner_text()
            plotted = page.locator(f"#{sid}-n .big").inner_text()
            # it moves: newer readings, more records plotted
            page.wait_for_function(
                f"() => document.querySelector('#{sid}-c0 .sub').textContent !== {at!r}",
                timeout=20_000,
            )
            page.wait_for_function(
                f"() => document.querySelector('#{sid}-n .big').textContent !== {plotted!r}",
                timeout=20_000,
            )
            assert page.locator("#status").inner_text() == "● live"
            # both lines are on the chart, in their colours (orange: Temperature, blue:
            # prediction), and over more than a handful of regimes
            chart = page.locator(f"#{sid} .c-series canvas").first.screenshot()
            colors = page.evaluate(
                "() => ['--orange', '--blue'].map((v) => getComputedStyle("
                "document.documentElement).getPropertyValue(v).trim())"
            )
            orange, blue = (_pixels(chart, c) for c in colors)
            assert orange > 500 and blue > 500, (orange, blue)
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "dashboard-s2.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot: {shot} (orange px {orange}, blue px {blue})")
            page.close()
            browser.close()
    finally:
        board.stop()
        stop.set()
        runner.stop()
        worker.join(30)
        feeder.join(10)
    assert not errors, errors
