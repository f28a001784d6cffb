"""The Sink contract: where rows leave a pipeline, and when they must be durable.

A sink is written to in two phases, as Quix Streams' ``BatchingSink`` and Kafka
Connect's ``SinkTask`` are:

``write(batch)``
    Called by the pipeline step for every batch that reaches it. It may buffer.
``flush()``
    Called by the run's checkpoint *before* the input offsets (and state snapshots) are
    committed. When it returns, everything written so far is durable in the target; when
    it raises, nothing is committed and the run stops, so the rows are read again after a
    restart. A sink is therefore at-least-once by construction, and exactly-once wherever
    the target applies a row idempotently: every row carries its ``sl-id``
    (``Batch.record_ids()``: the topic/partition/offset of the input record it came from),
    which a table can use as its key and a time series as its point identity.

A :class:`SinkOperator` is the pipeline step (a frozen spec, like every operator); it
opens its :class:`Sink` once per run through the run context (:meth:`Context.sink`), so
one connection serves every partition, and the runtime knows which sinks to flush
without knowing their types. It passes each batch on unchanged, so a pipeline can write
to several places and keep transforming after a write.

Examples
--------
A sink that collects rows in a list (:mod:`streamlearn.testing` has a ready-made one):

>>> import polars as pl, streamlearn as sl
>>> from streamlearn.write.base import Sink, SinkOperator
>>> class ListSink(Sink):
...     def __init__(self):
...         self.rows, self.buffer = [], []
...     def write(self, batch):
...         self.buffer.extend(zip(batch.record_ids(), batch.data.rows()))
...     def flush(self):
...         self.rows.extend(self.buffer)
...         self.buffer.clear()
>>> class ToList(SinkOperator):
...     def open(self, ctx):
...         return ListSink()
>>> ctx = sl.Context()
>>> _ = (sl.map(lambda df: df) | ToList(name="out")).apply(pl.DataFrame({"x": [7]}), ctx=ctx)
>>> ctx.flush_sinks()
>>> ctx.sinks["out"].rows
[(b'<frame>/0/0', (7,))]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from streamlearn.core.batch import Batch
from streamlearn.core.operator import Context, Operator, StatelessStep, Step


class Sink(ABC):
    """A destination for rows; one instance per run, shared by the partitions' steps."""

    @abstractmethod
    def write(self, batch: Batch) -> None:
        """Take the rows of a batch; may buffer them until :meth:`flush`."""

    @abstractmethod
    def flush(self) -> None:
        """Make every row written so far durable, or raise (nothing is then committed)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections at the end of the run (after the last flush)."""


@dataclass(frozen=True)
class SinkOperator(Operator):
    """A pipeline step that writes each batch to a :class:`Sink` and passes it on.

    Subclasses implement :meth:`open`; they may declare topics to provision with
    :meth:`Operator.outputs`.
    """

    kind: str = field(default="write", init=False, repr=False)

    @abstractmethod
    def open(self, ctx: Context) -> Sink:
        """Open the sink for this run (called once per run, on first use)."""

    def build(self) -> Step:
        return _SinkStep(self)


class _SinkStep(StatelessStep):
    def __init__(self, spec: SinkOperator) -> None:
        self.spec = spec

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        ctx.sink(self.name, self.spec).write(batch)
        ctx.rows_written += batch.height
        return batch


__all__ = ["Sink", "SinkOperator"]
