"""Splitting a consumed batch by topic partition (no broker: hand-made messages)."""

import random

from confluent_kafka import Message

from streamlearn.kafka.reader import split_by_partition


def _msgs(spec: list[tuple[str, int]]) -> list[Message]:
    offsets: dict[tuple[str, int], int] = {}
    out = []
    for topic, part in spec:
        off = offsets.get((topic, part), 0)
        offsets[(topic, part)] = off + 1
        out.append(Message(topic=topic, partition=part, offset=off, value=b"{}"))
    return out


def _reference(msgs: list[Message]) -> dict[tuple[str, int], list[int]]:
    groups: dict[tuple[str, int], list[int]] = {}
    for m in msgs:
        groups.setdefault((m.topic(), m.partition()), []).append(m.offset())
    return groups


def _split(msgs: list[Message], one_topic: bool) -> dict[tuple[str, int], list[int]]:
    out = split_by_partition(msgs, one_topic=one_topic)
    assert len({(t, p) for t, p, _ in out}) == len(out)  # each topic partition once
    return {(t, p): [m.offset() for m in ms] for t, p, ms in out}


def test_one_partition_is_returned_whole() -> None:
    msgs = _msgs([("a", 2)] * 5)
    [(topic, part, got)] = split_by_partition(msgs)
    assert (topic, part) == ("a", 2) and got is msgs


def test_runs_of_several_topics_and_partitions_keep_offset_order() -> None:
    spec = (
        [("events", 0)] * 3
        + [("labels", 0)] * 2
        + [("events", 1)] * 2
        + [("events", 0)] * 2
        + [("labels", 0)]
    )
    msgs = _msgs(spec)
    assert _split(msgs, one_topic=False) == _reference(msgs)


def test_random_interleavings_match_the_per_message_grouping() -> None:
    rng = random.Random(3)
    for _ in range(50):
        keys = [(rng.choice(["ev", "lab", "x"]), rng.randrange(4)) for _ in range(6)]
        spec = [rng.choice(keys) for _ in range(rng.randrange(1, 200))]
        msgs = _msgs(spec)
        assert _split(msgs, one_topic=False) == _reference(msgs)
        one = _msgs([("t", p) for _, p in spec])
        assert _split(one, one_topic=True) == _reference(one)


def test_partition_eof_events_are_noted_and_dropped() -> None:
    from confluent_kafka import KafkaError

    eof = Message(topic="t", partition=1, offset=9, error=KafkaError(KafkaError._PARTITION_EOF))
    ends: list[tuple[str, int]] = []
    out = split_by_partition([*_msgs([("t", 0)] * 2), eof], ends=ends)
    assert ends == [("t", 1)]
    assert [(t, p, len(ms)) for t, p, ms in out] == [("t", 0, 2)]
