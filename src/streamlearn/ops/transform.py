"""Row-wise transforms: map, filter, select, cast and the per-record slow path.

All of them run Polars expressions (or a user function) on the whole batch. Row
provenance is kept whenever the row count is unchanged; a user function that changes
the number of rows loses it, which only matters for the record ids of what follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, StatelessStep, Step
from streamlearn.core.schema import parse_schema

Exprs = pl.Expr | Sequence[pl.Expr] | Mapping[str, pl.Expr]


class _Shared(Operator):
    """Stateless operators are their own step: one instance serves every partition."""

    def build(self) -> Step:
        return _Bound(self)


class _Bound(StatelessStep):
    def __init__(self, op: Any) -> None:
        self.op = op

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        return self.op._process(batch, ctx, self.name)


def _as_exprs(exprs: Exprs) -> list[pl.Expr]:
    if isinstance(exprs, pl.Expr):
        return [exprs]
    if isinstance(exprs, Mapping):
        return [
            pl.lit(e).alias(k) if not isinstance(e, pl.Expr) else e.alias(k)
            for k, e in exprs.items()
        ]
    return list(exprs)


@dataclass(frozen=True)
class Map(_Shared):
    """The operator :func:`map` builds (its parameters are documented there)."""

    fn: Exprs | Callable[[pl.DataFrame], pl.DataFrame]
    kind: str = field(default="map", init=False, repr=False)

    def __post_init__(self) -> None:
        if self.fn is None:
            raise ConfigError("map needs Polars expressions or a function")

    def _process(self, batch: Batch, ctx: Context, name: str) -> Batch | None:
        fn = self.fn
        try:
            if callable(fn) and not isinstance(fn, pl.Expr):
                out = fn(batch.data)
                if not isinstance(out, pl.DataFrame):
                    raise TypeError(
                        f"map function returned {type(out).__name__}, expected a polars DataFrame"
                    )
            else:
                out = batch.data.with_columns(_as_exprs(fn))
        except Exception as exc:
            ctx.dead_letter(batch, f"{type(exc).__name__}: {exc}", name)
            return None
        return batch.with_data(out)


@dataclass(frozen=True)
class Filter(_Shared):
    """The operator :func:`filter` builds (its parameters are documented there)."""

    predicate: pl.Expr
    kind: str = field(default="filter", init=False, repr=False)

    def _process(self, batch: Batch, ctx: Context, name: str) -> Batch | None:
        mask = batch.data.select(self.predicate.alias("m")).to_series()
        return batch.filter(mask)


@dataclass(frozen=True)
class Select(_Shared):
    """The operator :func:`select` builds (its parameters are documented there)."""

    columns: tuple[str | pl.Expr, ...]
    kind: str = field(default="select", init=False, repr=False)

    def _process(self, batch: Batch, ctx: Context, name: str) -> Batch | None:
        return batch.with_data(batch.data.select(list(self.columns)))


@dataclass(frozen=True)
class Cast(_Shared):
    """The operator :func:`cast` builds (its parameters are documented there)."""

    schema: Mapping[str, Any]
    kind: str = field(default="cast", init=False, repr=False)

    def _process(self, batch: Batch, ctx: Context, name: str) -> Batch | None:
        types = parse_schema(self.schema)
        df = batch.data
        exprs, checks = [], []
        for col, dtype in types.items():
            src = pl.col(col)
            if isinstance(dtype, pl.Datetime) and df.schema[col] == pl.String:
                expr = src.str.to_datetime(time_unit=dtype.time_unit, strict=False)
            else:
                expr = src.cast(dtype, strict=False)
            exprs.append(expr.alias(col))
            checks.append(
                pl.when(src.is_not_null() & expr.is_null()).then(
                    pl.lit(f"field {col!r}: cannot cast to {dtype}")
                )
            )
        reasons = df.select(pl.coalesce(checks).alias("r")).to_series()
        bad = reasons.is_not_null()
        out = batch.with_data(df.with_columns(exprs))
        if bad.any():
            ctx.dead_letter(out.filter(bad), reasons.drop_nulls().to_list(), name)
            out = out.filter(~bad)
        return out


@dataclass(frozen=True)
class MapRecords(_Shared):
    """The operator :func:`map_records` builds (its parameters are documented there)."""

    fn: Callable[[dict[str, Any]], dict[str, Any] | None]
    kind: str = field(default="map_records", init=False, repr=False)

    def _process(self, batch: Batch, ctx: Context, name: str) -> Batch | None:
        out, keep, failed, reasons = [], [], [], []
        for i, rec in enumerate(batch.data.iter_rows(named=True)):
            try:
                res = self.fn(rec)
            except Exception as exc:
                failed.append(i)
                reasons.append(f"{type(exc).__name__}: {exc}")
                continue
            if res is not None:
                out.append(res)
                keep.append(i)
        if failed:
            ctx.dead_letter(batch.take(np.asarray(failed, dtype=np.int64)), reasons, name)
        if not out:
            return None
        return batch.with_rows(pl.DataFrame(out), np.asarray(keep, dtype=np.int64))


def map(fn: Exprs | Callable[[pl.DataFrame], pl.DataFrame], *, name: str | None = None) -> Map:
    """Add or replace columns with Polars expressions, or transform the batch with a function.

    Parameters
    ----------
    fn
        A Polars expression, a list of them, a ``{column: expression}`` mapping, or a
        function from the batch's DataFrame to a DataFrame. An error in ``fn`` sends the
        whole batch to the dead-letter topic with the exception.
    name
        Step name (default: derived from the operator kind).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> df = pl.DataFrame({"bid": [1.0, 2.0], "ask": [1.5, 2.5]})
    >>> sl.map({"mid": (pl.col("bid") + pl.col("ask")) / 2}).apply(df)["mid"].to_list()
    [1.25, 2.25]
    >>> spread = sl.map(lambda d: d.with_columns(s=pl.col("ask") - pl.col("bid")))
    >>> spread.apply(df)["s"].to_list()
    [0.5, 0.5]
    """
    return Map(fn, name=name)


def filter(predicate: pl.Expr, *, name: str | None = None) -> Filter:
    """Keep the rows where a Polars boolean expression is true.

    Parameters
    ----------
    predicate
        A boolean Polars expression over the batch's columns.
    name
        Step name (default: derived from the operator kind).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> sl.filter(pl.col("x") > 1).apply(pl.DataFrame({"x": [1, 2, 3]}))["x"].to_list()
    [2, 3]
    """
    return Filter(predicate, name=name)


def select(*columns: str | pl.Expr, name: str | None = None) -> Select:
    """Keep (and order) only the named columns, or the given expressions.

    Parameters
    ----------
    *columns
        Column names or Polars expressions, in the output's order.
    name
        Step name (default: derived from the operator kind).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> sl.select("b", "a").apply(pl.DataFrame({"a": [1], "b": [2], "c": [3]})).columns
    ['b', 'a']
    """
    return Select(columns, name=name)


def cast(schema: Mapping[str, Any], *, name: str | None = None) -> Cast:
    """Cast columns to types; rows whose value cannot be cast are dead-lettered.

    Parameters
    ----------
    schema
        Column -> type: ``"float"``, ``"int"``, ``"timestamp"``... (the names
        ``sl.decode.json`` accepts) or Polars dtypes.
    name
        Step name (default: derived from the operator kind).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> ctx = sl.Context()
    >>> out = sl.cast({"x": "float"}).apply(pl.DataFrame({"x": ["1.5", "oops"]}), ctx=ctx)
    >>> out["x"].to_list(), ctx.dead_lettered
    ([1.5], 1)
    """
    return Cast(schema, name=name)


def map_records(
    fn: Callable[[dict[str, Any]], dict[str, Any] | None], *, name: str | None = None
) -> MapRecords:
    """THE SLOW PATH: call a Python function once per record (a dict); prefer :func:`map`.

    Use it only for logic that cannot be written with Polars expressions: it runs at
    Python speed, orders of magnitude below the vectorised operators.

    Parameters
    ----------
    fn
        Record dict -> output dict, or ``None`` to drop the record. A record whose call
        raises is dead-lettered with the exception.
    name
        Step name (default: derived from the operator kind).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> op = sl.map_records(lambda r: {**r, "y": r["x"] + 1})
    >>> op.apply(pl.DataFrame({"x": [1, 2]}))["y"].to_list()
    [2, 3]
    """
    return MapRecords(fn, name=name)


__all__ = [
    "Cast",
    "Filter",
    "Map",
    "MapRecords",
    "Select",
    "cast",
    "filter",
    "map",
    "map_records",
    "select",
]
