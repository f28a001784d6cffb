"""The pipeline that tests/runtime/test_crash.py runs with ``streamlearn run`` and kills.

Topics come from environment variables set by the test (the library itself never reads
the environment; this file is test scaffolding, loaded by the CLI).
"""

import os

import streamlearn as sl


def pipeline() -> sl.Pipeline:
    return (
        sl.read.from_kafka(os.environ["CRASH_SRC"], max_batch=500)
        | sl.decode.json({"a": "float", "b": "float"})
        | sl.ml.sequential_k_means(["a", "b"], k=3, buffer_size=500, update_every=50, name="km")
        | sl.write.to_kafka(os.environ["CRASH_OUT"])
    )
