"""Checking and creating a pipeline's topics at start (issue 8, item 1)."""

from __future__ import annotations

import logging
import uuid

import pytest

from streamlearn.core.errors import ConfigError
from streamlearn.kafka.admin import (
    ensure_topics,
    partition_count,
    topic_config,
    topic_partitions,
)
from streamlearn.runtime.topics import TopicSpec, provision

pytestmark = pytest.mark.broker


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_checking_a_missing_topic_does_not_create_it(kafka):
    name = _name("absent")
    assert partition_count(kafka, name) is None
    assert name not in topic_partitions(kafka)


def test_misspelled_input_is_a_one_line_error_naming_similar_topics(kafka, topic_factory):
    real = topic_factory(prefix="trades")
    typo = real[:-1] + ("x" if real[-1] != "x" else "y")
    with pytest.raises(ConfigError) as info:
        provision(kafka, inputs=[typo], outputs={_name("out"): TopicSpec()})
    text = str(info.value)
    assert "\n" not in text and repr(typo) in text and repr(real) in text
    assert typo not in topic_partitions(kafka)  # and nothing was left behind


def test_created_topics_get_the_partitions_and_config_asked_for(kafka, topic_factory):
    src = topic_factory(partitions=3)
    out2, same, dlq, state = _name("out"), _name("same"), _name("dlq"), _name("st")
    done = provision(
        kafka,
        inputs=[src],
        outputs={out2: TopicSpec(2), same: TopicSpec(), dlq: TopicSpec(1)},
        state_topic=state,
    )
    assert done.partitions == {src: 3}
    assert set(done.created) == {out2, same, dlq, state}
    counts = topic_partitions(kafka)
    assert (counts[out2], counts[same], counts[dlq], counts[state]) == (2, 3, 1, 1)
    assert topic_config(kafka, state)["cleanup.policy"] == "compact"
    assert done.warnings == ()
    again = provision(kafka, inputs=[src], outputs={out2: TopicSpec(2)}, state_topic=state)
    assert again.created == () and again.warnings == ()


def test_inputs_with_different_partition_counts_are_an_error(kafka, topic_factory):
    a, b = topic_factory(partitions=2), topic_factory(partitions=3)
    with pytest.raises(ConfigError, match="co-partitioned") as info:
        provision(kafka, inputs=[a, b])
    assert "\n" not in str(info.value)
    assert provision(kafka, inputs=[a, b], co_partitioned=False).partitions == {a: 2, b: 3}


def test_a_state_topic_that_is_not_compacted_is_reported(kafka, topic_factory, caplog):
    src, state = topic_factory(), _name("st")
    ensure_topics(kafka, {state: 4})  # as an auto-created one would be: no config
    with caplog.at_level(logging.WARNING, logger="streamlearn.runtime"):
        done = provision(kafka, inputs=[src], state_topic=state)
    assert len(done.warnings) == 1 and "not compacted" in done.warnings[0]
    assert state in done.warnings[0]
    assert any("not compacted" in r.getMessage() for r in caplog.records)
