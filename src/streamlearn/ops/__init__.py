"""Batch transforms: the root verbs ``sl.map``, ``sl.filter``, ``sl.select``, ``sl.cast``,
``sl.map_records`` (``transform``) and ``sl.sql`` (``sql``, DuckDB as an optional extra).
"""

from __future__ import annotations

from streamlearn.ops.sql import Sql, sql
from streamlearn.ops.transform import (
    Cast,
    Filter,
    Map,
    MapRecords,
    Select,
    cast,
    filter,
    map,
    map_records,
    select,
)

__all__ = [
    "Cast",
    "Filter",
    "Map",
    "MapRecords",
    "Select",
    "Sql",
    "cast",
    "filter",
    "map",
    "map_records",
    "select",
    "sql",
]
