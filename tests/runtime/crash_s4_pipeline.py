"""The S4 pipeline that tests/runtime/test_crash_s4.py runs with ``streamlearn run`` and kills.

Topics come from environment variables set by the test (test scaffolding, loaded by the
CLI; the library itself never reads the environment).
"""

import os

import streamlearn as sl

FEATURES = ["f0", "f1", "f2", "f3"]


def pipeline() -> sl.Pipeline:
    return (
        sl.read.from_kafka(os.environ["S4_EVENTS"], max_batch=200)
        | sl.decode.json({"event_id": "string", **dict.fromkeys(FEATURES, "float")})
        | sl.ml.online_classifier(
            FEATURES,
            model=sl.ml.PassiveAggressive(C=0.5),
            feedback=sl.read.from_kafka(os.environ["S4_LABELS"]),
            name="pa",
        )
        | sl.write.to_kafka(
            os.environ["S4_OUT"], columns=["event_id", "prediction", "model_updates"]
        )
    )
