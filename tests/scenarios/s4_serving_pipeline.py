"""The serving pipeline that tests/scenarios/test_s4_serving.py runs with ``streamlearn run``
and kills: two registry models score one stream (a regressor and a classifier).

Topics come from environment variables set by the test (test scaffolding, loaded by the
CLI; the library itself never reads the environment).
"""

import os

import streamlearn as sl

FEATURES = ["rooms", "area", "age", "distance"]
SCHEMA = {"id": "int", **dict.fromkeys(FEATURES, "float")}


def pipeline() -> sl.Pipeline:
    registry = {"topic": os.environ["S4S_CONTROL"], "artifact_topic": os.environ["S4S_ARTS"]}
    return (
        sl.read.from_kafka(os.environ["S4S_SRC"], max_batch=200)
        | sl.decode.json(SCHEMA)
        | sl.ml.predict("house-price", features=FEATURES, output="price", **registry)
        | sl.ml.predict(
            "house-tier",
            features=FEATURES,
            output="tier",
            version_column="tier_version",
            probabilities=True,
            **registry,
        )
        | sl.write.to_kafka(os.environ["S4S_OUT"])
    )
