"""Test helpers for pipelines and operators: an in-memory sink you can assert on.

Most operators need no helper at all: ``pipeline.apply(df)`` runs them over a frame.
:func:`to_list` is for pipelines that end in a sink, or for checking what a custom
operator hands to one, with the same ``write``/``flush`` contract the runtime uses.

Examples
--------
>>> import polars as pl, streamlearn as sl
>>> from streamlearn.testing import to_list
>>> ctx = sl.Context()
>>> sink = to_list("out")
>>> _ = (sl.filter(pl.col("x") > 1) | sink).apply(pl.DataFrame({"x": [1, 2, 3]}), ctx=ctx)
>>> ctx.flush_sinks()
>>> [row["x"] for row in ctx.sinks["out"].rows]
[2, 3]
>>> ctx.sinks["out"].ids
[b'<frame>/0/1', b'<frame>/0/2']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamlearn.core.batch import Batch
from streamlearn.core.operator import Context
from streamlearn.write.base import Sink, SinkOperator


class ListSink(Sink):
    """Keeps flushed rows (as dicts) and their ``sl-id``s; unflushed rows in ``buffer``."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.ids: list[bytes] = []
        self.buffer: list[tuple[bytes, dict[str, Any]]] = []
        self.flushes = 0

    def write(self, batch: Batch) -> None:
        self.buffer.extend(zip(batch.record_ids(), batch.data.to_dicts(), strict=True))

    def flush(self) -> None:
        for rid, row in self.buffer:
            self.ids.append(rid)
            self.rows.append(row)
        self.buffer.clear()
        self.flushes += 1


@dataclass(frozen=True)
class ToList(SinkOperator):
    """A sink step writing to a :class:`ListSink` (``ctx.sinks[name]``)."""

    kind: str = field(default="testing.to_list", init=False, repr=False)

    def open(self, ctx: Context) -> Sink:
        return ListSink()


def to_list(name: str = "list") -> ToList:
    """An in-memory sink step named ``name``; see the module example."""
    return ToList(name=name)


__all__ = ["ListSink", "ToList", "to_list"]
