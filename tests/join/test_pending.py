"""The keyed pending table and the delayed join (pure Polars, no Kafka)."""

from __future__ import annotations

import polars as pl

from streamlearn.join import DelayedJoin, PendingTable, RecentKeys


def frame(ids, **cols):
    return pl.DataFrame({"id": ids, **cols})


def test_table_bounds_expires_and_takes():
    t = PendingTable("id", ttl=10.0, max_rows=3)
    assert t.add(frame(["a", "b"]), now=0.0) == 0
    assert t.add(frame(["c", "d"]), now=5.0) == 1  # the oldest ("a") is dropped
    assert t.frame["id"].to_list() == ["b", "c", "d"]
    assert t.take(pl.Series(["d", "zz"]))["id"].to_list() == ["d"]
    assert t.expire(now=12.0) == 1 and t.frame["id"].to_list() == ["c"]


def test_table_snapshot_round_trip():
    t = PendingTable("id", ttl=10.0, max_rows=10)
    t.add(frame(["a", "b"], x=[1.0, 2.0]), now=3.0)
    twin = PendingTable("id", ttl=10.0, max_rows=10)
    twin.restore(t.snapshot())
    assert twin.frame.equals(t.frame)
    empty = PendingTable("id", ttl=1.0, max_rows=1)
    empty.restore(PendingTable("id", ttl=1.0, max_rows=1).snapshot())
    assert empty.height == 0


def test_join_in_either_order_each_key_once():
    j = DelayedJoin("id", ttl=60.0, max_rows=100)
    assert j.add_left(frame(["a", "b"], x=[1.0, 2.0]), now=0.0).height == 0
    early = j.add_right(frame(["c"], y=[7]), now=1.0)  # before its left row
    assert early.height == 0 and j.right.height == 1
    got = j.add_left(frame(["c"], x=[3.0]), now=2.0)
    assert got.to_dicts() == [{"id": "c", "y": 7, "x": 3.0}]
    got = j.add_right(frame(["a", "a", "b"], y=[1, 1, 0]), now=3.0)  # "a" twice
    assert got["id"].to_list() == ["a", "b"] and j.counts["duplicates"] == 1
    assert j.add_right(frame(["b"], y=[0]), now=4.0).height == 0  # matched already
    assert j.counts["duplicates"] == 2 and j.left.height == j.right.height == 0


def test_join_expiry_and_bounds_are_counted():
    j = DelayedJoin("id", ttl=10.0, max_rows=2)
    j.add_left(frame(["a", "b", "c"], x=[1.0, 2.0, 3.0]), now=0.0)
    j.add_right(frame(["x", "y", "z"], y=[1, 2, 3]), now=0.0)
    assert j.counts["dropped_left"] == 1 and j.counts["dropped_right"] == 1
    j.expire(now=11.0)
    assert j.counts["expired_left"] == 2 and j.counts["expired_right"] == 2


def test_join_snapshot_keeps_tables_and_matched_keys():
    j = DelayedJoin("id", ttl=60.0, max_rows=100)
    j.add_left(frame(["a", "b"], x=[1.0, 2.0]), now=0.0)
    j.add_right(frame(["a", "q"], y=[1, 2]), now=1.0)
    twin = DelayedJoin("id", ttl=60.0, max_rows=100)
    twin.restore(j.snapshot("p."), "p.")
    assert twin.left.frame.equals(j.left.frame) and twin.right.frame.equals(j.right.frame)
    assert twin.add_right(frame(["a"], y=[1]), now=2.0).height == 0
    assert twin.counts["duplicates"] == 1


def test_recent_keys_forget_the_oldest():
    r = RecentKeys(size=2)
    r.remember(pl.Series(["a", "b"]))
    r.remember(pl.Series(["c"]))
    assert r.seen(pl.Series(["a", "b", "c"])).to_list() == [False, True, True]
