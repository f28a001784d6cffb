"""SQL over a batch, with DuckDB.

``$1`` in the query names the current batch, as in the kdb Insights stream processor.
DuckDB reads the Arrow buffers of the Polars frame without copying.

To keep row provenance through SQL, the batch is given a hidden row-number column;
when the query's result still has it (``select *``, filters, projections that keep it),
record ids and keys follow the rows; an aggregation drops it, and the output rows get
batch-level ids instead.

A plain filter (``select * from $1 where <simple predicate>``) skips DuckDB: it runs as
a Polars expression with the same result (:mod:`streamlearn.ops.sql_filter`), ~0.2 ms
per batch instead of ~3 ms, which a latency-bound stream pays on every batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from streamlearn.core.batch import Batch
from streamlearn.core.extras import require
from streamlearn.core.operator import Context, Operator, Step
from streamlearn.ops.sql_filter import SimpleFilter, compile_filter
from streamlearn.ops.sql_mask import SeriesFilter

_ROW = "__sl_row"
_PLACEHOLDER = re.compile(r"\$1\b")


@dataclass(frozen=True)
class Sql(Operator):
    """The operator :func:`sql` builds (its parameters are documented there)."""

    query: str
    kind: str = field(default="sql", init=False, repr=False)

    def build(self) -> Step:
        return _SqlStep(self.query)


def sql(query: str, *, name: str | None = None) -> Sql:
    """Run a DuckDB SQL query over each batch; ``$1`` names the batch.

    DuckDB is an optional extra (``pip install 'streamlearn[sql]'``); without it,
    building the pipeline's steps fails with that one line. Rows keep their record ids
    and keys through queries that keep the rows (``select *``, ``where``); an aggregation
    gives its rows batch-level ids. A ``select * from $1 where ...`` with a simple
    predicate (comparisons, ``and``/``or``/``not``, ``in``, ``between``, ``is null``) is
    run by Polars instead, with the same result and a fraction of DuckDB's per-batch cost.

    Parameters
    ----------
    query
        DuckDB SQL; ``$1`` is the current batch. A query error dead-letters the batch.
    name
        Step name (default: derived from the operator kind).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> df = pl.DataFrame({"cluster": [0, 1, 0], "bid": [1.0, 2.0, 3.0]})
    >>> sl.sql("select * from $1 where cluster = 0").apply(df)["bid"].to_list()
    [1.0, 3.0]
    """
    return Sql(query, name=name)


class _SqlStep(Step):
    def __init__(self, query: str) -> None:
        self.query = _PLACEHOLDER.sub("__sl_batch", query)
        self._duckdb = require("duckdb", extra="sql", feature="sl.sql")
        self.filter: SimpleFilter | None = compile_filter(query)
        self.series = SeriesFilter(self.filter) if self.filter is not None else None
        # one connection per step (DuckDB connections are not shared across threads),
        # opened at the first batch that needs it: a plain filter may never
        self._con: object | None = None

    @property
    def con(self) -> object:
        if self._con is None:
            self._con = self._duckdb.connect()
        return self._con

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        if self.filter is not None and self.series is not None:
            mask = self.series.mask(batch.data)  # Series operations: no query per batch
            if mask is not None:
                return batch.filter(mask)
            expr = self.filter.expression(batch.data.schema)
            if expr is not None:  # null-safe already (SimpleFilter.expression)
                return batch.filter(batch.data.select(expr).to_series())
        return self._duckdb_query(batch, ctx)

    def _duckdb_query(self, batch: Batch, ctx: Context) -> Batch | None:
        con: Any = self.con
        df = batch.data.with_row_index(_ROW)
        con.register("__sl_batch", df.to_arrow())
        try:
            out = con.sql(self.query).pl()
        except self._duckdb.Error as exc:
            ctx.dead_letter(batch, f"SQL error: {exc}", self.name)
            return None
        finally:
            con.unregister("__sl_batch")
        if _ROW in out.columns:
            rows = out[_ROW].to_numpy().astype("int64")
            return batch.with_rows(out.drop(_ROW), rows)
        return batch.with_rows(out, None)


__all__ = ["Sql", "sql"]
