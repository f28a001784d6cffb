"""A ``select * from $1 where <predicate>`` filter as Series operations, no query.

:mod:`streamlearn.ops.sql_filter` translates the predicate into a Polars expression;
evaluating an expression runs a query, whose fixed cost (~0.05 ms; ~0.3 ms when Polars'
threads slept between the batches of a slow stream, bench/batch_cost.py) was most of a
small batch's filter. The same predicate evaluated as Series operations on the batch's
columns (a column against a one-value Series, Kleene ``&``/``|``) uses the same kernels
and gives the same rows; tests/ops/test_sql_filter.py holds both to DuckDB.

Examples
--------
>>> import polars as pl
>>> from streamlearn.ops.sql_filter import compile_filter
>>> f = SeriesFilter(compile_filter("select * from $1 where cluster = 0"))
>>> f.mask(pl.DataFrame({"cluster": [0, 1, None]})).to_list()
[True, False, False]
"""

from __future__ import annotations

from typing import Any

import polars as pl

from streamlearn.ops.sql_filter import (
    Node,
    SimpleFilter,
    _Compiler,
    _kind,
    _round_trips,
    _Unsupported,
)

__all__ = ["SeriesFilter"]

#: ``a op b`` as ``b flipped(op) a``, for a literal on the left of a column
_FLIPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
Mask = Any  # Callable[[pl.DataFrame], pl.Series]


class _SeriesCompiler(_Compiler):
    """The predicate as a function of a frame, built once per schema; the checks of
    kinds are the expression compiler's (``compare``), so both paths accept the same."""

    def mask(self, node: Node) -> Mask:
        tag = node[0]
        if tag in ("and", "or"):
            left, right = self.mask(node[1]), self.mask(node[2])
            if tag == "and":
                return lambda df: left(df) & right(df)
            return lambda df: left(df) | right(df)
        if tag == "not":
            inner = self.mask(node[1])
            return lambda df: ~inner(df)
        if tag == "cmp":
            return self.compare_mask(node[1], node[2], node[3])
        if tag in ("isnull", "notnull"):
            if node[1][0] != "col":
                raise _Unsupported("literal is null")
            name = self.name(node[1][1])
            if tag == "isnull":
                return lambda df: df.get_column(name).is_null()
            return lambda df: df.get_column(name).is_not_null()
        if tag == "in":
            parts = [self.compare_mask("eq", node[1], item) for item in node[2]]
            return lambda df: _any(p(df) for p in parts)
        if tag == "between":
            lo = self.compare_mask("ge", node[1], node[2])
            hi = self.compare_mask("le", node[1], node[3])
            return lambda df: lo(df) & hi(df)
        if node[1][0] != "col" or _kind(self.schema[self.name(node[1][1])]) != "bool":
            raise _Unsupported("bare operand")
        name = self.name(node[1][1])
        return lambda df: df.get_column(name)

    def name(self, column: str) -> str:
        self.column(column)  # checks it exists, once, and has a kind
        return self.lower[column.lower()][0]

    def compare_mask(self, op: str, left: Node, right: Node) -> Mask:
        self.compare(op, left, right)  # the expression's checks of kinds
        if left[0] != "col":
            op, left, right = _FLIPPED[op], right, left
        a = self.name(left[1])
        if right[0] == "col":
            b = self.name(right[1])
            return lambda df: getattr(df.get_column(a), op)(df.get_column(b))
        # a one-value Series, not a Python scalar: a scalar is cast to the column's type
        # (-1 against a UInt8 column overflows), a Series meets it at the supertype, as
        # the expression's literal does
        value = pl.Series([right[2]])
        return lambda df: getattr(df.get_column(a), op)(value)


def _any(masks: Any) -> pl.Series:
    first, *rest = masks
    for m in rest:
        first = first | m
    return first


class SeriesFilter:
    """A :class:`~streamlearn.ops.sql_filter.SimpleFilter` evaluated on Series, with its
    function cached per schema (a stream's batches share one)."""

    def __init__(self, simple: SimpleFilter) -> None:
        self.filter = simple
        self._masks: dict[tuple[tuple[str, pl.DataType], ...], Mask | None] = {}

    def mask(self, df: pl.DataFrame) -> pl.Series | None:
        """Which rows of ``df`` the predicate keeps (nulls as false), computed with Series
        operations; ``None`` when DuckDB must run it. The same rows as
        :meth:`SimpleFilter.expression` (tests/ops/test_sql_filter.py holds both to DuckDB).

        >>> from streamlearn.ops.sql_filter import compile_filter
        >>> f = SeriesFilter(compile_filter("select * from $1 where 1 < x and not (s in ('a'))"))
        >>> f.mask(pl.DataFrame({"x": [1, 2, 3, None], "s": ["b", "a", None, "b"]})).to_list()
        [False, False, False, False]
        >>> f.mask(pl.DataFrame({"x": [2], "s": ["b"]})).to_list()
        [True]
        """
        key = tuple(df.schema.items())
        if key not in self._masks:
            self._masks[key] = self._compile(df.schema)
        fn = self._masks[key]
        if fn is None:
            return None
        out = fn(df)
        return out.fill_null(False) if out.null_count() else out

    def _compile(self, schema: pl.Schema) -> Mask | None:
        if self.filter.predicate is None or not all(_round_trips(t) for t in schema.values()):
            return None
        try:
            return _SeriesCompiler(schema).mask(self.filter.predicate)
        except _Unsupported:
            return None
