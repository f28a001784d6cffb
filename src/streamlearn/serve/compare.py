"""Comparing two output topics record by record (``streamlearn compare``).

Scenario S5's pre-production test: a second copy of the pipeline, in its own consumer
group and with the candidate model, writes another topic; both topics hold the same
input records, each output carrying its input record's ``sl-id`` header. The comparison
reads both topics from the beginning to their end (partition EOF, as Kafka defines the
end: no watermark arithmetic), joins the records by ``sl-id`` and measures one column
with :class:`~streamlearn.serve.agreement.Agreement` (agreement rate and confusion for
labels, MAE/RMSE for numbers), counting what could not be joined: ids found in one topic
only, repeats of an id (at-least-once redelivery; the first record counts), records
without an ``sl-id`` or without the column.

Examples
--------
>>> joined({b"a": 1, b"b": 2}, {b"b": 3, b"c": 4})
([b'b'], 1, 1)
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
import orjson

from streamlearn.core.errors import ConfigError, KafkaError
from streamlearn.kafka.config import KafkaConfig
from streamlearn.serve.agreement import CLASSIFICATION, REGRESSION, Agreement, check_task

#: disagreeing records shown as examples
EXAMPLES = 5


class TopicValues:
    """The ``column`` value of each ``sl-id`` of one topic, and what was left out."""

    def __init__(self) -> None:
        self.values: dict[bytes, Any] = {}
        self.records = 0
        self.duplicates = 0
        self.no_id = 0
        self.unreadable = 0

    def add(self, rid: bytes | None, value: bytes | None, column: str) -> None:
        self.records += 1
        if rid is None:
            self.no_id += 1
            return
        if rid in self.values:
            self.duplicates += 1
            return
        try:
            row = orjson.loads(value) if value is not None else None
        except orjson.JSONDecodeError:
            row = None
        if not isinstance(row, dict) or row.get(column) is None:
            self.unreadable += 1
            return
        self.values[rid] = row[column]

    def counts(self) -> dict[str, int]:
        return {
            "records": self.records,
            "duplicates": self.duplicates,
            "without_sl_id": self.no_id,
            "without_column": self.unreadable,
        }


def read_topic(
    config: KafkaConfig, topic: str, column: str, *, timeout: float = 60.0
) -> TopicValues:
    """Every record of ``topic`` from the beginning to its end, by ``sl-id``."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from streamlearn.kafka.admin import partition_count

    n = partition_count(config, topic)
    if n is None:
        raise ConfigError(f"topic {topic!r} does not exist")
    out = TopicValues()
    consumer = Consumer(
        config.consumer_config(
            f"streamlearn-compare-{uuid.uuid4().hex[:8]}", **{"enable.partition.eof": True}
        )
    )
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(n)])
        ended: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(ended) < n:
            if time.monotonic() > deadline:
                raise KafkaError(
                    f"timed out after {timeout:g} s reading {topic!r} to its end "
                    f"({len(ended)} of {n} partitions done)"
                )
            for m in consumer.consume(num_messages=10_000, timeout=0.2):
                err = m.error()
                if err is None:
                    out.add(_sl_id(m.headers()), m.value(), column)
                elif err.code() == err._PARTITION_EOF:
                    ended.add(int(m.partition() or 0))
                else:
                    raise KafkaError(f"reading {topic!r}: {err.str()}")
    finally:
        consumer.close()
    return out


def _sl_id(headers: Any) -> bytes | None:
    for k, v in headers or ():
        if k == "sl-id":
            return bytes(v) if v is not None else None
    return None


def joined(a: dict[bytes, Any], b: dict[bytes, Any]) -> tuple[list[bytes], int, int]:
    """The ids in both (in ``a``'s order), and the counts of ids only in ``a``, only in ``b``."""
    both = [k for k in a if k in b]
    return both, len(a) - len(both), len(b) - len(both)


def infer_task(values: list[Any]) -> str:
    """Labels (integers, strings, booleans) make a classification; any float a regression.

    >>> infer_task([1, 2]), infer_task([1, 2.5]), infer_task(["a"])
    ('classification', 'regression', 'classification')
    """
    return REGRESSION if any(isinstance(v, float) for v in values) else CLASSIFICATION


def compare_values(
    a: TopicValues, b: TopicValues, *, task: str | None = None, column: str = ""
) -> dict[str, Any]:
    """The comparison of two topics' values: counts, then the agreement figures."""
    ids, only_a, only_b = joined(a.values, b.values)
    va, vb = [a.values[i] for i in ids], [b.values[i] for i in ids]
    task = check_task(task, "compare") or infer_task(va + vb)
    acc = Agreement(task)
    examples: list[dict[str, Any]] = []
    if ids:
        if task == REGRESSION:
            bad = [v for v in va + vb if isinstance(v, bool) or not isinstance(v, (int, float))]
            if bad:
                raise ConfigError(
                    f"column {column!r} holds {type(bad[0]).__name__} values such as "
                    f"{bad[0]!r}: not numbers (use --task classification)"
                )
            fa, fb = np.array(va, dtype=np.float64), np.array(vb, dtype=np.float64)
            acc.update(fa, fb)
            worst = np.argsort(-np.abs(fb - fa), kind="stable")[:EXAMPLES]
            examples = [_example(ids[i], va[i], vb[i]) for i in worst.tolist() if va[i] != vb[i]]
        else:
            sa, sb = np.array([str(v) for v in va]), np.array([str(v) for v in vb])
            acc.update(sa, sb)
            differ = np.flatnonzero(sa != sb)[:EXAMPLES]
            examples = [_example(ids[i], va[i], vb[i]) for i in differ.tolist()]
    figures = acc.as_dict()
    return {
        "column": column,
        "task": task,
        "matched": len(ids),
        "only_in_a": only_a,
        "only_in_b": only_b,
        "a": a.counts(),
        "b": b.counts(),
        **{k: v for k, v in figures.items() if k not in ("task", "n")},
        "examples": examples,
    }


def _example(rid: bytes, a: Any, b: Any) -> dict[str, Any]:
    return {"sl_id": rid.decode(errors="replace"), "a": a, "b": b}


def compare_topics(
    config: KafkaConfig,
    topic_a: str,
    topic_b: str,
    *,
    column: str = "prediction",
    task: str | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Read two topics to their end and compare ``column`` record by record (by
    ``sl-id``); see the module docstring. The result is JSON-able."""
    check_task(task, "compare")
    a = read_topic(config, topic_a, column, timeout=timeout)
    b = read_topic(config, topic_b, column, timeout=timeout)
    return {
        "topic_a": topic_a,
        "topic_b": topic_b,
        **compare_values(a, b, task=task, column=column),
    }


__all__ = ["TopicValues", "compare_topics", "compare_values", "infer_task", "joined", "read_topic"]
