"""streamlearn: machine learning on Kafka streams, in columnar micro-batches.

Compose operators with ``|`` and run them on Kafka, or apply them to a DataFrame::

    import streamlearn as sl

    pipeline = (sl.read.from_kafka("trades")
                | sl.decode.json({"time": "timestamp", "sym": "symbol",
                                  "bid": "float", "ask": "float"})
                | sl.window.timer(seconds=5)
                | sl.ml.sequential_k_means(["bid", "ask"], k=3, buffer_size=1000)
                | sl.sql("select * from $1 where cluster = 0")
                | sl.write.to_kafka("trades-cluster0"))
    sl.run(pipeline, kafka="127.0.0.1:9092", name="s1")
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import polars as pl

from streamlearn import decode, ml, read, window, write
from streamlearn.core.batch import Batch, Origin
from streamlearn.core.errors import (
    BrokerError,
    ConfigError,
    DecodeError,
    KafkaError,
    NotFittedError,
    OperatorError,
    StateError,
    StreamlearnError,
)
from streamlearn.core.operator import Context, Operator, Step
from streamlearn.core.pipeline import Pipeline
from streamlearn.kafka.config import KafkaConfig
from streamlearn.ops.sql import Sql
from streamlearn.ops.transform import Cast, Filter, Map, MapRecords, Select
from streamlearn.runtime.options import RunOptions
from streamlearn.runtime.stats import RunStats

if TYPE_CHECKING:
    from streamlearn.runtime.runner import Runner, run

__version__ = version("streamlearn")

_LAZY = {"run": "streamlearn.runtime.runner", "Runner": "streamlearn.runtime.runner"}


def __getattr__(name: str) -> Any:
    # the runtime loads the Kafka client: only when a pipeline is run, never for
    # building pipelines or applying them to a DataFrame
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'streamlearn' has no attribute {name!r}")


def map(fn: Any, *, name: str | None = None) -> Map:
    """Add columns from Polars expressions, or transform each batch with a function."""
    return Map(fn=fn, name=name)


def filter(predicate: pl.Expr, *, name: str | None = None) -> Filter:
    """Keep rows where a Polars expression is true."""
    return Filter(predicate=predicate, name=name)


def select(*columns: str | pl.Expr, name: str | None = None) -> Select:
    """Keep only these columns (or expressions)."""
    return Select(columns=columns, name=name)


def cast(schema: dict[str, Any], *, name: str | None = None) -> Cast:
    """Cast columns to types; rows that do not cast are dead-lettered."""
    return Cast(schema=schema, name=name)


def map_records(fn: Callable[[dict[str, Any]], dict[str, Any] | None], *,
                name: str | None = None) -> MapRecords:
    """The slow path: a Python function per record. Prefer :func:`map`."""
    return MapRecords(fn=fn, name=name)


def sql(query: str, *, name: str | None = None) -> Sql:
    """DuckDB SQL over each batch; ``$1`` names the batch."""
    return Sql(query=query, name=name)


__all__ = [
    "Batch",
    "BrokerError",
    "Cast",
    "ConfigError",
    "Context",
    "DecodeError",
    "Filter",
    "KafkaConfig",
    "KafkaError",
    "Map",
    "MapRecords",
    "NotFittedError",
    "Operator",
    "OperatorError",
    "Origin",
    "Pipeline",
    "RunOptions",
    "RunStats",
    "Runner",
    "Select",
    "Sql",
    "StateError",
    "Step",
    "StreamlearnError",
    "cast",
    "decode",
    "filter",
    "map",
    "map_records",
    "ml",
    "read",
    "run",
    "select",
    "sql",
    "window",
    "write",
]
