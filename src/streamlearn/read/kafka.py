"""Reading Kafka topics: the :func:`from_kafka` source spec.

The spec says *what* to read; :class:`streamlearn.kafka.reader.BatchReader` (used by the
runtime) does the reading. Keeping the two apart keeps ``sl.read`` free of the Kafka
client, so a pipeline can be built and applied to a DataFrame without loading librdkafka.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    >>> src = sl.read.from_kafka("trades")
    >>> src.topics
    ('trades',)
    """

    topics: tuple[str, ...] = ()
    group: str | None = None
    kafka: Any = None
    start: str = "earliest"
    max_batch: int = 20_000
    max_wait_ms: float = 0.0
    poll_timeout: float = 0.2
    kind: str = field(default="read.from_kafka", init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.topics:
            raise ConfigError("from_kafka needs at least one topic")
        if self.start not in ("earliest", "latest"):
            raise ConfigError("start must be 'earliest' or 'latest'")
        if self.max_batch < 1:
            raise ConfigError("max_batch must be >= 1")


def from_kafka(topics: str | Sequence[str], *, group: str | None = None,
               kafka: KafkaConfig | str | None = None, start: str = "earliest",
               max_batch: int = 20_000, max_wait_ms: float = 0.0) -> FromKafka:
    """Read one or more topics in a consumer group; see :class:`FromKafka`."""
    names = (topics,) if isinstance(topics, str) else tuple(topics)
    return FromKafka(topics=names, group=group, kafka=kafka, start=start,
                     max_batch=max_batch, max_wait_ms=max_wait_ms)
