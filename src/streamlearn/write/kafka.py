"""Writing batches to Kafka.

``to_kafka`` is an operator: it hands the batch's records to the run context, which
produces them, and passes the batch on unchanged, so a pipeline can write to several
topics (a shadow model beside the live one) and go on transforming after a write.

Each output record carries the header ``sl-id``: the topic/partition/offset of the input
record it came from. A restart after a crash may produce a record again (at-least-once
delivery); a sink downstream can drop the repeat by that id, and an exactly-once run
never shows it to ``read_committed`` readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, StatelessStep, Step
from streamlearn.decode.json_codec import encode_json


@dataclass(frozen=True)
class ToKafka(Operator):
    """Produce each row as a JSON record to a topic.

    Parameters
    ----------
    topic
        Destination topic (created with the source's partition count when missing).
    key
        Column to use as record key; default: keep each input record's key.
    columns
        Columns to write; default: all.
    partitions
        Partition count to create the topic with, when it does not exist.

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> ctx = sl.Context()
    >>> _ = sl.write.to_kafka("out").apply(pl.DataFrame({"x": [1]}), ctx=ctx)
    >>> ctx.outputs["out"][0].data["x"].to_list()
    [1]
    """

    topic: str = ""
    key: str | None = None
    columns: tuple[str, ...] | None = None
    partitions: int | None = None
    kind: str = field(default="write.to_kafka", init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.topic:
            raise ConfigError("to_kafka needs a topic")

    def build(self) -> Step:
        return _ToKafkaStep(self)


class _ToKafkaStep(StatelessStep):
    def __init__(self, spec: ToKafka) -> None:
        self.spec = spec

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        df = batch.data
        if self.spec.columns is not None:
            df = df.select(list(self.spec.columns))
        if self.spec.key is not None:
            keys = [None if k is None else str(k).encode()
                    for k in batch.data[self.spec.key].to_list()]
        else:
            keys = batch.keys()
        ctx.emit(self.spec.topic, batch, encode_json(_json_safe(df)), keys)
        return batch


def _json_safe(df: pl.DataFrame) -> pl.DataFrame:
    """Binary columns cannot be written as JSON text: decode them as UTF-8 (lossy)."""
    binary = [c for c, t in df.schema.items() if t == pl.Binary]
    if not binary:
        return df
    return df.with_columns(pl.col(c).cast(pl.String, strict=False) for c in binary)
