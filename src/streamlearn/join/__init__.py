"""Joins of keyed streams: rows waiting for their partner (:mod:`.pending`).

The online learner's delayed-label join is a :class:`DelayedJoin`; event-time joins will
share its tables.

Examples
--------
>>> import polars as pl
>>> from streamlearn.join import PendingTable
>>> PendingTable("id", ttl=1.0, max_rows=10).add(pl.DataFrame({"id": [1]}), now=0.0)
0
"""

from __future__ import annotations

from streamlearn.join.pending import DelayedJoin, PendingTable, RecentKeys

__all__ = ["DelayedJoin", "PendingTable", "RecentKeys"]
