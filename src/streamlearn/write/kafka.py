"""Writing batches to a Kafka topic as JSON records (``sl.write.to_kafka``).

Built on the Sink contract (:mod:`streamlearn.write.base`). Its records go through the
run's one producer, together with dead letters and state snapshots, so the checkpoint
flushes them all at once (at-least-once) or commits them in one transaction with the
input offsets (exactly-once).

Each output record carries the header ``sl-id``: the topic/partition/offset of the input
record it came from; and a header for each column a step registered in
``Context.record_headers`` (``sl-model-version: <model>:<version>`` from
``sl.ml.predict``). A restart after a crash may produce a record again (at-least-once
delivery); a consumer downstream can drop the repeat by that id, and an exactly-once run
never shows it to ``read_committed`` readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field

import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, OutputTopic
from streamlearn.formats.json import encode_json
from streamlearn.write.base import Sink, SinkOperator


@dataclass(frozen=True)
class ToKafka(SinkOperator):
    """Produce each row as a JSON record to a topic, and pass the batch on.

    Parameters
    ----------
    topic
        Destination topic. Created when missing, with ``partitions`` partitions (default:
        as many as the pipeline's input, so keys keep their partition).
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
    >>> sl.write.to_kafka("scored", key="customer", columns=["customer", "score"]).columns
    ('customer', 'score')
    """

    topic: str = ""
    _: KW_ONLY
    key: str | None = None
    columns: Sequence[str] | None = None
    partitions: int | None = None
    kind: str = field(default="write.to_kafka", init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.topic or not isinstance(self.topic, str):
            raise ConfigError("to_kafka needs a topic name")
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(self.columns))
        if self.partitions is not None and self.partitions < 1:
            raise ConfigError(f"to_kafka({self.topic!r}): partitions must be >= 1")

    def outputs(self) -> tuple[OutputTopic, ...]:
        return (OutputTopic(self.topic, partitions=self.partitions),)

    def open(self, ctx: Context) -> Sink:
        return KafkaSink(self, ctx)


class KafkaSink(Sink):
    """Encodes rows as JSON and hands them to the run's producer (``Context.emit``)."""

    def __init__(self, spec: ToKafka, ctx: Context) -> None:
        self.spec = spec
        self.ctx = ctx

    def write(self, batch: Batch) -> None:
        spec = self.spec
        df = batch.data
        if spec.columns is not None:
            df = df.select(list(spec.columns))
        if spec.key is not None:
            keys = [None if k is None else str(k).encode() for k in batch.data[spec.key].to_list()]
        else:
            keys = batch.keys()
        self.ctx.emit(
            spec.topic,
            batch,
            encode_json(json_safe(df)),
            keys,
            headers=header_columns(batch, self.ctx),
        )

    def flush(self) -> None:
        """Nothing of its own to flush: the checkpoint flushes (or commits) the run's
        producer, which holds these records with the dead letters and snapshots."""


def header_columns(batch: Batch, ctx: Context) -> list[tuple[str, list[bytes]]]:
    """The extra headers of a batch's records, from the columns registered in
    ``ctx.record_headers`` that the batch has (before ``columns=`` selects the value's
    columns: a version column left out of the value still gives its header).

    >>> import polars as pl
    >>> ctx = Context()
    >>> ctx.record_headers["model_version"] = ("sl-model-version", "hp:")
    >>> header_columns(Batch(pl.DataFrame({"model_version": [3, None]})), ctx)
    [('sl-model-version', [b'hp:3', b''])]
    """
    df = batch.data
    out = []
    for column, (header, prefix) in ctx.record_headers.items():
        if column in df.columns:
            value = pl.concat_str(pl.lit(prefix), pl.col(column).cast(pl.String))
            text = df.select(value.fill_null(""))  # a row without a value: an empty header
            out.append((header, text.to_series().cast(pl.Binary).to_list()))
    return out


def json_safe(df: pl.DataFrame) -> pl.DataFrame:
    """Binary columns cannot be written as JSON text: decode them as UTF-8 (lossy)."""
    binary = [c for c, t in df.schema.items() if t == pl.Binary]
    if not binary:
        return df
    return df.with_columns(pl.col(c).cast(pl.String, strict=False) for c in binary)


#: the verb: ``sl.write.to_kafka("out", key="id")`` (the class's own signature)
to_kafka = ToKafka
