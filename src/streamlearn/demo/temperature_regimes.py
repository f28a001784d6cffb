"""A machine's work regimes: train offline, then score the live stream (scenario S2).

Before the stream starts, the S2 offline job (:func:`streamlearn.train.regimes`) runs on
50,000 generated readings: elbow curve, k-means labels, the 1-6-8-6 perceptron, ONNX,
pushed to the registry as ``s2-regimes``. Then readings are replayed into ``example_1``
and the pipeline scores each one with the registry's champion (``sl.ml.predict``),
writing ``{time, prediction, Temperature}`` to ``example_2``. (Writing ``example_2``
to InfluxDB is the scenario's third process: docs/training.md.)

Examples
--------
>>> p = scoring(source="in", sink="out", model="m")
>>> p.source.topics, [op.kind for op in p.operators]
(('in',), ['decode.json', 'ml.predict', 'write.to_kafka'])
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
import time
from typing import Any

import streamlearn as sl
from streamlearn.core.pipeline import Pipeline
from streamlearn.datasets.synth.temperature import (
    TEMPERATURE_SCHEMA,
    generate_temperature,
    generate_temperature_frame,
)
from streamlearn.demo.base import DemoSettings, ViewTable, feed_values
from streamlearn.kafka.config import KafkaConfig
from streamlearn.runtime.stats import RunStats

__all__ = ["BAD_READINGS", "TemperatureRegimes", "scoring"]

#: malformed readings mixed into the demo stream, to show the dead-letter topic
BAD_READINGS = [
    b'{"time": "2026-01-01T00:00:00", "Temperature": "hot"}',
    b'{"time": "2026-01-01T00:00:00"',
    b'{"Temperature": 50}',
]
#: readings the offline job trains on (the scenario's 50,000)
TRAIN_READINGS = 50_000


def scoring(*, source: str, sink: str, model: str, **predict: Any) -> Pipeline:
    """``source`` (readings) -> the registry's ``model`` -> ``sink`` (scored readings)."""
    return (
        sl.read.from_kafka(source)
        | sl.decode.json(TEMPERATURE_SCHEMA)
        | sl.ml.predict(model, features=["Temperature"], output="prediction", **predict)
        | sl.write.to_kafka(sink, columns=["time", "prediction", "Temperature"])
    )


class TemperatureRegimes:
    """Scenario: a model trained offline on a machine's temperature scores the stream."""

    name = "temperature-regimes"
    title = "a machine's work regimes, trained offline, scored live"

    def __init__(self, settings: DemoSettings, suffix: str = "") -> None:
        self.settings = settings
        self.topics = {"in": f"example_1{suffix}", "out": f"example_2{suffix}"}
        self.model = f"s2-regimes{suffix}"
        self.produced = 0
        self.report: Any = None
        #: what ``streamlearn demo`` says while :meth:`create_topics` trains
        self.preparing = (
            f"Training the S2 model on {TRAIN_READINGS:,} readings "
            "(elbow, k-means, perceptron, ONNX, registry)..."
        )
        #: the board's series panel: temperature and predicted regime over the readings' time
        self.series = [f"{self.topics['out']}:Temperature,prediction@time"]
        self._trained_s = 0.0

    def create_topics(self, config: KafkaConfig) -> None:
        """The input topic, and the model: the offline job runs here, before the stream,
        and pushes to the cluster's registry (the scoring step reads it from there)."""
        from streamlearn.kafka.admin import ensure_topics

        ensure_topics(config, {self.topics["in"]: 1})
        started = time.monotonic()
        frame = generate_temperature_frame(TRAIN_READINGS, seed=self.settings.seed)
        self.report = sl.train.regimes(
            frame,
            out=tempfile.mkdtemp(prefix="streamlearn-s2-"),
            name=self.model,
            kafka=config,
            seed=self.settings.seed,
        )
        self._trained_s = time.monotonic() - started

    def prepared(self) -> str:
        """The line printed once the model is trained."""
        r = self.report
        return (
            f"Trained {self.model} v{r.version}: k = {r.k}, "
            f"test accuracy {r.accuracy:.4f} ({self._trained_s:.1f} s)"
        )

    def pipeline(self) -> Pipeline:
        return scoring(source=self.topics["in"], sink=self.topics["out"], model=self.model)

    def max_records(self) -> int | None:
        return self.settings.records

    def feed(self, config: KafkaConfig, stop: threading.Event, runner: Any) -> None:
        sent = [0]
        start = dt.datetime(2026, 1, 1)

        def values(n: int) -> list[bytes]:
            made = generate_temperature(
                n,
                seed=self.settings.seed + 1 + sent[0],
                start=start + dt.timedelta(seconds=sent[0]),
            )
            sent[0] += n
            return made

        feed_values(
            config,
            values,
            self.topics["in"],
            self.settings,
            bad=BAD_READINGS,
            stop=stop,
            runner=runner,
            on_progress=self._count,
        )

    def _count(self, n: int) -> None:
        self.produced = n

    def _version(self, stats: RunStats) -> Any:
        return next((v for k, v in stats.metrics.items() if k.endswith("predict.version")), None)

    def view(self, stats: RunStats) -> tuple[list[tuple[str, str]], list[ViewTable]]:
        r = self.report
        rows = [
            ("produced", f"{self.produced:,}"),
            ("scored", f"{stats.records_out:,}"),
            ("dead-lettered", f"{stats.dead_lettered:,}"),
            ("model", f"{self.model} v{self._version(stats) or '?'}"),
        ]
        table = ViewTable("regimes (k-means centres)", ("label", "centre °C"))
        if r is not None:
            rows.append(("trained", f"k = {r.k}, test accuracy {r.accuracy:.4f}"))
            table.rows.extend((str(i), f"{c[0]:.2f}") for i, c in enumerate(r.centres))
        return rows, [table]

    def summary(self, stats: RunStats) -> dict[str, Any]:
        r = self.report
        return {
            "records_in": stats.records_in,
            "records_out": stats.records_out,
            "dead_lettered": stats.dead_lettered,
            "model": self.model,
            "model_version": self._version(stats),
            "k": r.k if r is not None else None,
            "accuracy": r.accuracy if r is not None else None,
            "centres": [c[0] for c in r.centres] if r is not None else None,
        }
