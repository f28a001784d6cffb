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

from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from streamlearn import datasets, decode, ml, read, registry, train, window, write
from streamlearn.core.batch import Batch, Origin
from streamlearn.core.errors import (
    BrokerError,
    ConfigError,
    DecodeError,
    KafkaError,
    NotFittedError,
    OperatorError,
    SinkUnavailable,
    StateError,
    StreamlearnError,
)
from streamlearn.core.operator import Context, Operator, Step
from streamlearn.core.pipeline import Pipeline
from streamlearn.kafka.config import KafkaConfig
from streamlearn.ops import (
    Cast,
    Filter,
    Map,
    MapRecords,
    Select,
    Sql,
    cast,
    filter,
    map,
    map_records,
    select,
    sql,
)
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
    "SinkUnavailable",
    "Sql",
    "StateError",
    "Step",
    "StreamlearnError",
    "cast",
    "datasets",
    "decode",
    "filter",
    "map",
    "map_records",
    "ml",
    "read",
    "registry",
    "run",
    "select",
    "sql",
    "train",
    "window",
    "write",
]
