"""``streamlearn run --json`` of a scoring pipeline: the counts add up and the partitions
the run owned are reported.

A ``sl.ml.predict`` step reads its registry's control topic as a broadcast input; those
records are not input records (``records_in`` leaves them out), and they used to be
counted as "filtered" (once per record and partition). And the final ``partitions`` was
``[]``: leaving the group at the end retired every partition before the line was printed.
"""

from __future__ import annotations

import json

import orjson
import pytest

import streamlearn as sl
from tests.cli._run import cli, lines
from tests.kafka_helpers import produce
from tests.serve.houses import FEATURES, SCHEMA, linear_onnx

pytestmark = pytest.mark.broker
N = 600


def test_a_scoring_run_filters_nothing_and_reports_its_partitions(kafka, topic_factory, tmp_path):
    src, out = topic_factory(partitions=2), topic_factory()
    control, arts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=arts)
    for weights in ([1, 0, 0, 0], [0, 1, 0, 0]):  # control records: v1, v2, the alias
        reg.push(linear_onnx(weights), name="hp", format="onnx", signature=FEATURES)
    reg.promote("hp", 2, alias="champion")
    values = [
        orjson.dumps({"id": i, "rooms": 1.0 + i % 5, "area": 50.0, "age": 1.0, "distance": 2.0})
        for i in range(N)
    ]
    produce(kafka, src, values, keys=[f"k{i % 97}".encode() for i in range(N)])
    (tmp_path / "scoring.py").write_text(
        "import streamlearn as sl\n"
        f"pipeline = (sl.read.from_kafka({src!r}) | sl.decode.json({SCHEMA!r})\n"
        f"    | sl.ml.predict('hp', output='price', topic={control!r}, artifact_topic={arts!r})\n"
        f"    | sl.write.to_kafka({out!r}, partitions=1))\n"
    )
    common = ("-b", kafka.bootstrap_servers, "--max-records", str(N))
    done = cli("run", str(tmp_path / "scoring.py"), "--name", f"cnt-{src}", "--json", *common)
    assert done.returncode == 0, done.stderr
    stats = json.loads(lines(done.stdout)[-1])
    assert stats["records_in"] == N == stats["records_out"]
    assert stats["records_filtered"] == 0 and stats["dead_lettered"] == 0
    assert stats["records_buffered"] == 0
    assert stats["partitions"] == [0, 1]  # what this member owned when it stopped
    # the same records again, read by a second group: the summary line says so too
    again = cli("run", str(tmp_path / "scoring.py"), "--name", f"cnt2-{src}", *common)
    assert again.returncode == 0, again.stderr
    assert lines(again.stdout)[-1].startswith(f"done: {N} in, {N} out, 0 filtered, 0 dead")
