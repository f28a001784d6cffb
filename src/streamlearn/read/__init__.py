"""Sources: where a pipeline's records come from (``sl.read.from_kafka("trades")``)."""

from streamlearn.read.kafka import FromKafka, from_kafka

__all__ = ["FromKafka", "from_kafka"]
