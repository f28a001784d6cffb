"""Sources (``sl.read.from_kafka("trades")``)."""

from streamlearn.io.kafka_source import from_kafka

__all__ = ["from_kafka"]
