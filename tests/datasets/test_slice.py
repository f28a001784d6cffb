"""Slices: serialisation and the shares of DataLoader workers and ranks."""

from __future__ import annotations

import pytest

from streamlearn.core.errors import ConfigError
from streamlearn.datasets import DatasetSlice, PartitionRange


def _slice(*lengths: int) -> DatasetSlice:
    return DatasetSlice("t", tuple(PartitionRange("t", p, 3, 3 + n) for p, n in enumerate(lengths)))


@pytest.mark.parametrize("lengths", [(10,), (7, 0, 5), (1, 1, 1, 1, 1), (1000, 3)])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 8])
def test_shards_cover_every_offset_exactly_once(lengths, count):
    slc = _slice(*lengths)
    seen = [
        (r.partition, o)
        for i in range(count)
        for r in slc.shard(i, count).ranges
        for o in range(r.start, r.end)
    ]
    assert sorted(seen) == sorted(
        (r.partition, o) for r in slc.ranges for o in range(r.start, r.end)
    )
    assert len(seen) == len(set(seen))


def test_every_share_has_work_when_there_are_fewer_partitions():
    slc = _slice(100)
    assert [s.records for s in (slc.shard(i, 4) for i in range(4))] == [25, 25, 25, 25]


def test_round_trips_and_errors():
    slc = _slice(5, 6)
    assert DatasetSlice.from_json(slc.to_json()) == slc
    assert DatasetSlice.from_dict(slc.to_dict()).records == 11
    assert str(slc) == "t:0:3:5,t:1:3:6"
    assert PartitionRange.parse(str(slc.ranges[1])) == slc.ranges[1]
    for bad in ("nope", '{"topic": "t"}', '{"topic": "t", "ranges": [{"partition": 0}]}'):
        with pytest.raises(ConfigError):
            DatasetSlice.from_json(bad)
    with pytest.raises(ConfigError):
        PartitionRange("t", 0, 5, 4)
    with pytest.raises(ConfigError):
        PartitionRange.parse("t:0:x:1")
    with pytest.raises(ConfigError):
        slc.shard(2, 2)
