"""Sinks: where rows leave a pipeline (``sl.write.to_kafka("out")``).

Write your own with the contract in :mod:`streamlearn.write.base`: subclass
:class:`Sink` (``write`` buffers, ``flush`` makes durable before offsets are committed)
and :class:`SinkOperator` (``open`` returns the sink, once per run).
"""

from streamlearn.write.base import Sink, SinkOperator
from streamlearn.write.kafka import KafkaSink, ToKafka, to_kafka

__all__ = ["KafkaSink", "Sink", "SinkOperator", "ToKafka", "to_kafka"]
