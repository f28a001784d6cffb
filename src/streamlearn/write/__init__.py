"""Sinks: where rows leave a pipeline (``sl.write.to_kafka("out")``,
``sl.write.to_postgres("readings", dsn=...)``, ``sl.write.to_influxdb("weather", ...)``).

Write your own with the contract in :mod:`streamlearn.write.base`: subclass
:class:`Sink` (``write`` buffers, ``flush`` makes durable before offsets are committed)
and :class:`SinkOperator` (``open`` returns the sink, once per run).
"""

from streamlearn.write.base import Sink, SinkOperator
from streamlearn.write.influxdb import InfluxSink, ToInfluxDB, to_influxdb
from streamlearn.write.kafka import KafkaSink, ToKafka, to_kafka
from streamlearn.write.postgres import PostgresSink, ToPostgres, to_postgres

__all__ = [
    "InfluxSink",
    "KafkaSink",
    "PostgresSink",
    "Sink",
    "SinkOperator",
    "ToInfluxDB",
    "ToKafka",
    "ToPostgres",
    "to_influxdb",
    "to_kafka",
    "to_postgres",
]
