"""Scenario S2's two stream jobs, run with ``streamlearn run`` by
tests/scenarios/test_s2_influx.py (and shown in docs/training.md).

- ``scoring``: ``example_1`` (``{time, Temperature}``) -> the S2 model from the registry
  (``sl.ml.predict``) -> ``example_2`` (``{time, prediction, Temperature}``).
- ``to_influx``: ``example_2`` -> InfluxDB, one point per reading at the reading's time
  (so a replay rewrites the same points).

Settings come from the environment (test scaffolding; the library never reads it):
``S2_IN``, ``S2_OUT``, ``S2_MODEL``, ``S2_CONTROL``, ``S2_ARTIFACTS``, ``S2_INFLUX_URL``,
``S2_INFLUX_DB``; ``SINK_KILL_AT_FLUSH=K`` SIGKILLs the InfluxDB job right after its K-th
non-empty flush (points written, offsets not committed).
"""

import os

import streamlearn as sl
from tests.write.db_sink_pipeline import KillAfterFlush

READING = {"time": "timestamp", "Temperature": "int"}
SCORED = {"time": "timestamp", "prediction": "int", "Temperature": "int"}


def scoring() -> sl.Pipeline:
    env = os.environ
    return (
        sl.read.from_kafka(env["S2_IN"], max_batch=2000)
        | sl.decode.json(READING)
        | sl.ml.predict(
            env["S2_MODEL"],
            features=["Temperature"],
            output="prediction",
            topic=env["S2_CONTROL"],
            artifact_topic=env["S2_ARTIFACTS"],
        )
        | sl.write.to_kafka(env["S2_OUT"], columns=["time", "prediction", "Temperature"])
    )


def to_influx() -> sl.Pipeline:
    env = os.environ
    sink = sl.write.to_influxdb(
        "example_2",
        url=env["S2_INFLUX_URL"],
        database=env["S2_INFLUX_DB"],
        fields=["prediction", "Temperature"],
        time="time",
    )
    return (
        sl.read.from_kafka(env["S2_OUT"], max_batch=2000)
        | sl.decode.json(SCORED)
        | KillAfterFlush(inner=sink, name="influx")
    )
