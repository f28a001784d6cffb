"""Bounds -> offsets. Neither broker here looks offsets up by time (Tansu answers 0 for
every time, the mock cluster the log end), so the time path runs against a consumer
stand-in that answers ``offsets_for_times`` as Apache Kafka does: the first offset
whose timestamp is at or after the time, -1 past the end."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from streamlearn.core.errors import ConfigError
from streamlearn.datasets.resolve import check_bound, resolve_slice, to_millis

T0 = 1_700_000_000_000


class KafkaLikeConsumer:
    """Two partitions of 300 and 100 records, one per second from T0."""

    def __init__(self) -> None:
        self.logs = {0: [T0 + 1000 * i for i in range(300)], 1: [T0 + 1000 * i for i in range(100)]}

    def list_topics(self, topic, timeout):
        meta = SimpleNamespace(error=None, partitions={p: None for p in self.logs})
        return SimpleNamespace(topics={topic: meta})

    def get_watermark_offsets(self, tp, timeout):
        return 0, len(self.logs[tp.partition])

    def offsets_for_times(self, tps, timeout):
        from confluent_kafka import TopicPartition

        out = []
        for tp in tps:
            stamps = self.logs[tp.partition]
            found = next((i for i, ts in enumerate(stamps) if ts >= tp.offset), -1)
            out.append(TopicPartition(tp.topic, tp.partition, found))
        return out


def test_times_resolve_per_partition_and_past_the_end_is_the_log_end():
    start = dt.datetime.fromtimestamp((T0 + 50_000) / 1000, dt.timezone.utc)
    end = dt.datetime.fromtimestamp((T0 + 200_000) / 1000, dt.timezone.utc).isoformat()
    slc = resolve_slice(KafkaLikeConsumer(), "t", start, end)
    assert slc.starts() == {0: 50, 1: 50}
    assert slc.ends() == {0: 200, 1: 100}  # partition 1 has nothing at 200 s: its end


def test_named_offsets_and_dicts():
    c = KafkaLikeConsumer()
    assert resolve_slice(c, "t", "earliest", "now").ends() == {0: 300, 1: 100}
    slc = resolve_slice(c, "t", {1: 10}, {1: "now"})
    assert slc.partitions == [1] and slc.starts() == {1: 10}
    with pytest.raises(ConfigError, match="before start"):
        resolve_slice(c, "t", {0: 20}, {0: 10})
    with pytest.raises(ConfigError, match="no partitions"):
        resolve_slice(c, "t", {5: 0}, "now")


def test_bad_bounds_are_one_line_errors():
    assert to_millis("2023-11-14T22:13:20Z") == T0
    assert to_millis(dt.datetime(2023, 11, 14, 22, 13, 20)) == T0  # naive: UTC
    for bad in ("soon", -1, 1.5, True, {0: "later"}):
        with pytest.raises(ConfigError):
            check_bound(bad, "start")
