"""The predict pipeline that tests/serve/test_evaluation_restart.py runs in-process and,
with ``streamlearn run``, kills: a classifier with a shadow and ``label=``.

Topics come from environment variables set by the test (test scaffolding, loaded by the
CLI; the library itself never reads the environment).
"""

import os

import streamlearn as sl
from tests.serve.houses import SCHEMA


def build(
    src: str, out: str, shadow: str, control: str, arts: str, max_batch: int = 100
) -> sl.Pipeline:
    """A classifier ``exp`` (champion) with ``challenger`` as its shadow, scored against
    the ``expensive`` column; small batches (``max_batch``) so a kill lands mid-stream."""
    return (
        sl.read.from_kafka(src, max_batch=max_batch)
        | sl.decode.json({**SCHEMA, "expensive": "int"})
        | sl.ml.predict(
            "exp",
            shadow="challenger",
            shadow_topic=shadow,
            label="expensive",
            topic=control,
            artifact_topic=arts,
        )
        | sl.write.to_kafka(out, partitions=1)
    )


def pipeline() -> sl.Pipeline:
    env = os.environ
    return build(env["RS_SRC"], env["RS_OUT"], env["RS_SHADOW"], env["RS_CONTROL"], env["RS_ARTS"])
