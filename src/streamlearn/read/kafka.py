"""Reading Kafka topics: the :func:`from_kafka` source spec.

The spec says *what* to read; :class:`streamlearn.kafka.reader.BatchReader` (used by the
runtime) does the reading. Keeping the two apart keeps ``sl.read`` free of the Kafka
client, so a pipeline can be built and applied to a DataFrame without loading librdkafka.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING

from streamlearn.core.errors import ConfigError
from streamlearn.core.pipeline import Source

if TYPE_CHECKING:
    from streamlearn.kafka.config import KafkaConfig


@dataclass(frozen=True)
class FromKafka(Source):
    """A pipeline source: one or more Kafka topics, read in a consumer group.

    Parameters
    ----------
    topics
        Topic name or names. Several topics are read as co-partitioned inputs:
        partition ``p`` of each goes to the same operator chain (for joins).
    group
        Consumer group id; default: the pipeline name given to :func:`streamlearn.run`.
    kafka
        A :class:`~streamlearn.kafka.config.KafkaConfig` or bootstrap string; default:
        the one given to :func:`streamlearn.run`.
    start
        Where a group with no committed offsets starts: ``"earliest"`` or ``"latest"``.
    max_batch
        Most records per batch.
    max_wait_ms
        Extra time to wait for a batch to fill (0: return what is there at once).

    Examples
    --------
    >>> import streamlearn as sl
    >>> sl.read.from_kafka("trades").topics
    ('trades',)
    >>> sl.read.from_kafka(["events", "labels"], group="scoring", max_batch=5000).group
    'scoring'

    Run it with :func:`streamlearn.run` (records arrive as a ``value`` column to decode)::

        sl.run(sl.read.from_kafka("trades") | sl.decode.json() | sl.write.to_kafka("out"),
               kafka="127.0.0.1:9092", name="copy")
    """

    topics: Sequence[str] = ()
    _: KW_ONLY
    group: str | None = None
    kafka: KafkaConfig | str | None = None
    start: str = "earliest"
    max_batch: int = 20_000
    max_wait_ms: float = 0.0
    poll_timeout: float = 0.2
    kind: str = field(default="read.from_kafka", init=False, repr=False)

    def __post_init__(self) -> None:
        topics = (self.topics,) if isinstance(self.topics, str) else tuple(self.topics)
        object.__setattr__(self, "topics", topics)
        if not topics or not all(isinstance(t, str) and t for t in topics):
            raise ConfigError("from_kafka needs at least one topic name")
        if self.start not in ("earliest", "latest"):
            raise ConfigError("start must be 'earliest' or 'latest'")
        if self.max_batch < 1:
            raise ConfigError("max_batch must be >= 1")


#: the verb: ``sl.read.from_kafka("trades", group="g")`` (the class's own signature)
from_kafka = FromKafka
