"""The predict step's evaluation state: the shadow's agreement and each variant's label
metrics survive a snapshot/restore round trip (the checkpoint), continue identically,
and a plain serving step has no state at all. Offline (no broker); the run over a real
broker, stopped and restarted, is tests/serve/test_evaluation_restart.py."""

from __future__ import annotations

import numpy as np
import pytest

import streamlearn as sl
from streamlearn.core.errors import StateError
from streamlearn.core.state import encode_state
from streamlearn.ml.metrics import ClassificationMetrics, RegressionMetrics
from streamlearn.serve.agreement import Agreement
from streamlearn.serve.evaluate import Evaluation


def filled(step) -> Evaluation:
    """An evaluation as a run leaves it: an agreement for versions (1, 2), label metrics
    for the champion (v1, regression) and the shadow (v2)."""
    rng = np.random.default_rng(4)
    ev = step.evaluation
    ev.agreement, ev._pair = Agreement("regression"), (1, 2)
    a, b, y = rng.normal(size=300), rng.normal(size=300), rng.normal(size=300)
    ev.agreement.update(a, b)
    for label, version, pred in (("champion", 1, a), ("challenger", 2, b)):
        m = RegressionMetrics()
        m.update(y, pred)
        ev.labels[label] = (version, m)
    return ev


def test_the_evaluation_round_trips_and_continues_identically():
    op = sl.ml.predict("hp", shadow="challenger", label="y")
    ev = filled(op.build())
    again = op.build()
    again.restore(ev.step.snapshot())
    got = again.evaluation
    assert got._pair == (1, 2)
    assert got.agreement is not None and got.agreement.as_dict() == ev.agreement.as_dict()
    assert {k: v[0] for k, v in got.labels.items()} == {"champion": 1, "challenger": 2}
    for label, (_, metrics) in ev.labels.items():
        assert got.labels[label][1].as_dict() == metrics.as_dict()
    rng = np.random.default_rng(5)
    a, y = rng.normal(size=50), rng.normal(size=50)
    for e in (ev, got):
        e.agreement.update(a, a + 1)
        e.labels["champion"][1].update(y, a)
    assert got.agreement.as_dict() == ev.agreement.as_dict()
    assert got.labels["champion"][1].as_dict() == ev.labels["champion"][1].as_dict()


def test_classification_label_metrics_keep_their_kind_and_classes():
    op = sl.ml.predict("c", label="y")
    step = op.build()
    m = ClassificationMetrics()
    m.update(np.array(["no", "yes", "yes"]), np.array(["no", "no", "yes"]))
    step.evaluation.labels["champion"] = (7, m)
    again = op.build()
    again.restore(step.snapshot())
    version, metrics = again.evaluation.labels["champion"]
    assert version == 7 and isinstance(metrics, ClassificationMetrics)
    assert metrics.as_dict() == m.as_dict()
    assert again.evaluation.agreement is None and again.evaluation._pair is None


def test_an_empty_evaluation_is_state_and_a_gone_variant_is_dropped():
    op = sl.ml.predict("hp", split={"champion": 0.5, "challenger": 0.5}, label="y")
    step = op.build()
    blob = step.snapshot()
    assert blob is not None  # stateful even before anything was measured
    step.evaluation.labels["champion"] = (1, RegressionMetrics())
    step.evaluation.labels["retired"] = (1, RegressionMetrics())
    narrower = sl.ml.predict("hp", split={"champion": 0.5, "other": 0.5}, label="y").build()
    narrower.restore(step.snapshot())
    assert set(narrower.evaluation.labels) == {"champion"}  # "retired" is no variant


def test_plain_serving_is_stateless_and_measuring_is_stateful():
    assert not sl.ml.predict("hp").stateful
    assert sl.ml.predict("hp").build().snapshot() is None
    assert sl.ml.predict("hp", label="y").stateful
    assert sl.ml.predict("hp", shadow="challenger").stateful
    pipeline = sl.read.from_kafka("t") | sl.ml.predict("hp") | sl.write.to_kafka("o")
    assert not pipeline.stateful  # no state topic for plain serving
    measured = sl.read.from_kafka("t") | sl.ml.predict("hp", label="y") | sl.write.to_kafka("o")
    assert measured.stateful and measured.stateful_steps() == ["ml.predict"]


def test_a_foreign_snapshot_is_refused():
    step = sl.ml.predict("hp", label="y").build()
    with pytest.raises(StateError, match="cannot restore a predict step"):
        step.restore(encode_state({"kind": "Agreement"}))
