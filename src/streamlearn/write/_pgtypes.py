"""Polars dtypes and PostgreSQL types: what ``create=True`` makes, what a table accepts,
and how each column is written as CSV text for ``COPY`` in one vectorised pass.

Why CSV text and not binary ``COPY``: Polars writes the whole batch as CSV in Rust in one
call, and PostgreSQL parses it in C; binary ``COPY`` from Python goes through psycopg's
``write_row`` once per row. ``bench/sinks.py --copy-formats`` measures both
(BENCHMARKS.md, "Sinks").

>>> import polars as pl
>>> pg_type(pl.Int64), pg_type(pl.Datetime("us", "UTC")), pg_type(pl.List(pl.Int64))
('bigint', 'timestamp with time zone', 'jsonb')
>>> accepts(pl.Float64, "integer"), accepts(pl.Int32, "double precision")
(False, True)
"""

from __future__ import annotations

import json
import re

import polars as pl

_INTS = {"smallint", "integer", "bigint", "numeric", "real", "double precision"}
_FLOATS = {"real", "double precision", "numeric"}
_TEXTS = {"text", "character varying", "character", "name", "citext", "json", "jsonb", "uuid"}
_TIMESTAMPS = {"timestamp without time zone", "timestamp with time zone"}


def pg_type(dtype: pl.DataType | type[pl.DataType]) -> str:
    """The PostgreSQL column type ``create=True`` gives a Polars dtype."""
    d = dtype if isinstance(dtype, pl.DataType) else dtype()
    simple = {
        pl.Int8: "smallint",
        pl.Int16: "smallint",
        pl.UInt8: "smallint",
        pl.Int32: "integer",
        pl.UInt16: "integer",
        pl.Int64: "bigint",
        pl.UInt32: "bigint",
        pl.UInt64: "numeric",
        pl.Float32: "real",
        pl.Float64: "double precision",
        pl.Boolean: "boolean",
        pl.Date: "date",
        pl.Time: "time without time zone",
        pl.Duration: "interval",
        pl.Binary: "bytea",
        pl.Decimal: "numeric",
    }
    for base, name in simple.items():
        if isinstance(d, base):
            return name
    if isinstance(d, pl.Datetime):
        return "timestamp with time zone" if d.time_zone else "timestamp without time zone"
    if isinstance(d, (pl.List, pl.Array, pl.Struct)):
        return "jsonb"
    return "text"  # String, Categorical, Enum, Null, Object as text


def _base(pg: str) -> str:
    """``character varying(10)`` -> ``character varying``; arrays keep their ``[]``."""
    return re.sub(r"\(.*?\)", "", pg).strip()


def accepts(dtype: pl.DataType | type[pl.DataType], pg: str, typtype: str = "b") -> bool:
    """Whether a table column of type ``pg`` takes a stream column of ``dtype`` as is.

    Strict on purpose: a float into an integer column or text into a number would be
    truncated or fail mid-run; a cast in the pipeline (``sl.cast``) says it is meant.
    """
    d = dtype if isinstance(dtype, pl.DataType) else dtype()
    base = _base(pg)
    if isinstance(d, pl.Null):
        return True
    if d.is_integer():
        return base in _INTS
    if d.is_float() or isinstance(d, pl.Decimal):
        return base in _FLOATS
    if isinstance(d, pl.Boolean):
        return base == "boolean"
    if isinstance(d, (pl.String, pl.Categorical, pl.Enum)):
        return base in _TEXTS or typtype == "e"
    if isinstance(d, pl.Datetime):
        return base in _TIMESTAMPS
    if isinstance(d, pl.Date):
        return base == "date" or base in _TIMESTAMPS
    if isinstance(d, pl.Time):
        return base == "time without time zone"
    if isinstance(d, pl.Duration):
        return base == "interval"
    if isinstance(d, pl.Binary):
        return base == "bytea"
    if isinstance(d, (pl.List, pl.Array, pl.Struct)):
        return base in {"json", "jsonb"}
    return base in _TEXTS


def csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    """Columns Polars' CSV writer cannot write as PostgreSQL reads them, converted:
    bytea as ``\\x`` hex, intervals in microseconds, nested values as JSON text."""
    exprs = []
    for name, d in df.schema.items():
        col = pl.col(name)
        if isinstance(d, pl.Binary):
            exprs.append(pl.concat_str(pl.lit("\\x"), col.bin.encode("hex")).alias(name))
        elif isinstance(d, pl.Duration):
            exprs.append(
                pl.concat_str(
                    col.dt.total_microseconds().cast(pl.String), pl.lit(" microseconds")
                ).alias(name)
            )
        elif isinstance(d, (pl.List, pl.Array, pl.Struct)):
            # one JSON encoder call for the column: wrap it in a struct, strip the key
            head = len(json.dumps({name: 0}, separators=(",", ":"))) - 2
            text = pl.struct(col).struct.json_encode().str.slice(head).str.head(-1)
            exprs.append(pl.when(col.is_null()).then(None).otherwise(text).alias(name))
        elif isinstance(d, (pl.Categorical, pl.Enum)):
            exprs.append(col.cast(pl.String))
    return df.with_columns(exprs) if exprs else df


def to_csv(df: pl.DataFrame) -> bytes:
    """The rows as CSV for ``COPY ... (FORMAT csv)``: text always quoted, so an empty
    string stays an empty string and only an unquoted empty field is NULL."""
    return csv_ready(df).write_csv(include_header=False, quote_style="non_numeric").encode()
