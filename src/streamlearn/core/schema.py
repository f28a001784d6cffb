"""Schema type names: the aliases users write (``"float"``, ``"symbol"``...) -> Polars dtypes.

Decoders (``sl.decode.json``), ``sl.cast`` and the learners' label decoding all accept
the same names, so a schema written once means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from streamlearn.core.errors import ConfigError

#: type names accepted in schemas, case-insensitive
ALIASES: Mapping[str, pl.DataType] = {
    "float": pl.Float64(),
    "f64": pl.Float64(),
    "double": pl.Float64(),
    "f32": pl.Float32(),
    "real": pl.Float32(),
    "int": pl.Int64(),
    "long": pl.Int64(),
    "i64": pl.Int64(),
    "i32": pl.Int32(),
    "string": pl.String(),
    "str": pl.String(),
    "symbol": pl.String(),
    "text": pl.String(),
    "bool": pl.Boolean(),
    "boolean": pl.Boolean(),
    "timestamp": pl.Datetime("us"),
    "datetime": pl.Datetime("us"),
    "date": pl.Date(),
}


def parse_schema(schema: Mapping[str, Any]) -> dict[str, pl.DataType]:
    """Turn type names (or Polars dtypes) into Polars dtypes, failing with one line.

    Examples
    --------
    >>> parse_schema({"bid": "float", "time": "timestamp", "n": pl.Int32})
    {'bid': Float64, 'time': Datetime(time_unit='us', time_zone=None), 'n': Int32}
    >>> try:
    ...     parse_schema({"bid": "decimal"})
    ... except ConfigError as exc:
    ...     print(str(exc)[:45])
    unknown type 'decimal' for field 'bid'; use o
    """
    out: dict[str, pl.DataType] = {}
    for name, dtype in schema.items():
        if isinstance(dtype, str):
            try:
                out[name] = ALIASES[dtype.lower()]
            except KeyError:
                raise ConfigError(
                    f"unknown type {dtype!r} for field {name!r}; use one of "
                    f"{sorted(ALIASES)} or a Polars dtype"
                ) from None
        elif isinstance(dtype, pl.DataType) or (
            isinstance(dtype, type) and issubclass(dtype, pl.DataType)
        ):
            out[name] = dtype() if isinstance(dtype, type) else dtype
        else:
            raise ConfigError(f"field {name!r}: {dtype!r} is not a type")
    return out


def is_temporal(dtype: pl.DataType) -> bool:
    """True for the dtypes decoders read as text and convert afterwards (dates, times).

    Examples
    --------
    >>> is_temporal(pl.Datetime("us")), is_temporal(pl.Float64())
    (True, False)
    """
    return isinstance(dtype, (pl.Datetime, pl.Date))


__all__ = ["ALIASES", "is_temporal", "parse_schema"]
