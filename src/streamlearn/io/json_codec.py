"""JSON records in and out, a whole batch at a time.

Decoding joins the batch's values into one NDJSON buffer and parses it with Polars'
Rust reader against the declared schema: one call per batch, no ``json.loads`` per
record. Only the schema's fields are materialised (extra fields are skipped by the
reader), which is most of the speed on wide records.

Bad records must not cost the good ones their speed, nor be lost. When the one-shot
parse fails, the batch is bisected: each half is parsed again, down to the single bad
records, which go to the dead-letter topic with the parser's message. A batch with ``b``
bad records among ``n`` costs about ``b * log2(n)`` extra parses.

Timestamps are read as text and converted with ``str.to_datetime`` afterwards: Polars
parses a ``Datetime`` inside the JSON reader about ten times slower (LIBRARY-FACTS.md).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, Step

_ALIASES: dict[str, pl.DataType] = {
    "float": pl.Float64(), "f64": pl.Float64(), "double": pl.Float64(),
    "f32": pl.Float32(), "real": pl.Float32(),
    "int": pl.Int64(), "long": pl.Int64(), "i64": pl.Int64(), "i32": pl.Int32(),
    "string": pl.String(), "str": pl.String(), "symbol": pl.String(), "text": pl.String(),
    "bool": pl.Boolean(), "boolean": pl.Boolean(),
    "timestamp": pl.Datetime("us"), "datetime": pl.Datetime("us"),
    "date": pl.Date(),
}


def parse_schema(schema: Mapping[str, Any]) -> dict[str, pl.DataType]:
    """Turn ``{"bid": "float", "time": "timestamp"}`` (or Polars dtypes) into Polars dtypes."""
    out: dict[str, pl.DataType] = {}
    for name, dtype in schema.items():
        if isinstance(dtype, str):
            try:
                out[name] = _ALIASES[dtype.lower()]
            except KeyError:
                raise ConfigError(f"unknown type {dtype!r} for field {name!r}; use one of "
                                  f"{sorted(_ALIASES)} or a Polars dtype") from None
        elif isinstance(dtype, pl.DataType) or (isinstance(dtype, type)
                                                and issubclass(dtype, pl.DataType)):
            out[name] = dtype() if isinstance(dtype, type) else dtype
        else:
            raise ConfigError(f"field {name!r}: {dtype!r} is not a type")
    return out


def _is_temporal(dtype: pl.DataType) -> bool:
    return isinstance(dtype, (pl.Datetime, pl.Date))


@dataclass(frozen=True)
class DecodeJson(Operator):
    """Parse each record value as a JSON object into typed columns.

    Parameters
    ----------
    schema
        Field name -> type (``"float"``, ``"int"``, ``"string"``, ``"symbol"``,
        ``"bool"``, ``"timestamp"``, or a Polars dtype). Only these fields are read. Without
        a schema the types are inferred per batch (slower, and types may drift).
    required
        Fields that must be present and non-null; default: every schema field. A record
        that lacks one is dead-lettered, not passed on with a null.
    time_format
        ``strftime`` format of timestamp fields; default: ISO 8601, inferred.

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> raw = pl.DataFrame({"value": [b'{"bid": 1.5, "sym": "A"}', b'{oops']})
    >>> ctx = sl.Context()
    >>> (sl.decode.json({"bid": "float", "sym": "symbol"})).apply(raw, ctx=ctx)["bid"].to_list()
    [1.5]
    >>> ctx.dead_lettered
    1
    """

    schema: Mapping[str, Any] | None = None
    required: Sequence[str] | None = None
    time_format: str | None = None
    kind: str = field(default="decode.json", init=False, repr=False)

    def build(self) -> Step:
        return _DecodeJsonStep(self)


class _DecodeJsonStep(Step):
    def __init__(self, spec: DecodeJson) -> None:
        self.schema = parse_schema(spec.schema) if spec.schema is not None else None
        self.read_schema = None
        self.temporal: dict[str, pl.DataType] = {}
        if self.schema is not None:
            self.read_schema = {k: (pl.String() if _is_temporal(v) else v)
                                for k, v in self.schema.items()}
            self.temporal = {k: v for k, v in self.schema.items() if _is_temporal(v)}
        if spec.required is not None:
            self.required = list(spec.required)
        else:
            self.required = list(self.schema) if self.schema is not None else []
        self.time_format = spec.time_format

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        values = _raw_values(batch)
        df, good, bad = decode_values(values, self.read_schema)
        if bad:
            ctx.dead_letter(batch.take(np.array([i for i, _ in bad])), [r for _, r in bad],
                            self.name)
        if good is not None:
            batch = batch.take(good)
        if df.height == 0:
            return None
        df, problems = self._finish(df)
        out = batch.with_data(df)
        if problems is not None:
            reasons_all, bad_mask = problems
            ctx.dead_letter(out.filter(bad_mask), [r for r in reasons_all if r], self.name)
            out = out.filter(~bad_mask)
        return out

    def _finish(self, df: pl.DataFrame) -> tuple[pl.DataFrame, Any]:
        out, problems = self._convert(df, guess=self.time_format is None)
        if problems is not None and self.temporal and self.time_format is None:
            # some times are in another ISO shape than the first row's: let Polars infer
            out, problems = self._convert(df, guess=False)
        return out, problems

    def _convert(self, df: pl.DataFrame, *, guess: bool) -> tuple[pl.DataFrame, Any]:
        """Convert timestamps and check required fields; returns rows to dead-letter.

        One pass: the conversions and a single "row is bad" flag are computed together
        (``with_columns`` evaluates every expression against the raw columns); the
        per-row reasons are only built when some row is bad.
        """
        conv: list[pl.Expr] = []
        checks: list[pl.Expr] = []
        reasons: list[pl.Expr] = []
        for name, dtype in self.temporal.items():
            if name not in df.columns:
                continue
            fmt = self.time_format or (_iso_format(df[name]) if guess else None)
            if isinstance(dtype, pl.Date):
                expr = pl.col(name).str.to_date(fmt, strict=False)
            else:
                expr = pl.col(name).str.to_datetime(
                    fmt, time_unit=dtype.time_unit, time_zone=dtype.time_zone, strict=False)
            conv.append(expr.alias(name))
            bad = pl.col(name).is_not_null() & expr.is_null()
            checks.append(bad)
            reasons.append(pl.when(bad).then(pl.lit(f"field {name!r}: cannot parse as {dtype}")))
        for name in self.required:
            if name in df.columns:
                bad = pl.col(name).is_null()
                checks.append(bad)
                reasons.append(pl.when(bad).then(pl.lit(f"field {name!r} is missing or null")))
            else:
                checks.append(pl.lit(True))
                reasons.append(pl.lit(f"field {name!r} is missing"))
        if not checks:
            return (df.with_columns(conv) if conv else df), None
        out = df.with_columns([*conv, pl.any_horizontal(checks).alias("__sl_bad")])
        bad_mask = out["__sl_bad"]
        out = out.drop("__sl_bad")
        if not bad_mask.any():
            return out, None
        why = df.select(pl.coalesce(reasons).alias("r")).to_series()
        return out, (why.filter(bad_mask).to_list(), bad_mask.to_numpy())


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ])\d{2}:\d{2}:\d{2}(\.(\d+))?$")


def _iso_format(column: pl.Series) -> str | None:
    """The exact strftime format of the first value, when it is a plain ISO 8601 time.

    Parsing with an exact format runs about twice as fast as letting Polars infer it.
    """
    first = column.drop_nulls().head(1).to_list()
    m = _ISO.match(first[0]) if first else None
    if m is None:
        return None
    fraction = f"%.{len(m.group(3))}f" if m.group(3) else ""
    return f"%Y-%m-%d{m.group(1)}%H:%M:%S{fraction}"


def _raw_values(batch: Batch) -> list[bytes | None]:
    """The bytes to decode: a ``value`` column if the batch has one, else the source records."""
    if "value" in batch.data.columns and batch.data.schema["value"] in (pl.Binary, pl.String):
        col = batch.data["value"]
        if col.dtype == pl.String:
            return [v.encode() if v is not None else None for v in col.to_list()]
        return col.to_list()
    return batch.values()


def decode_values(values: list[bytes | None], schema: Mapping[str, pl.DataType] | None
                  ) -> tuple[pl.DataFrame, np.ndarray | None, list[tuple[int, str]]]:
    """Parse JSON objects; returns ``(frame, positions, bad)``.

    ``positions`` gives, for each row of the frame, the index of its value (``None`` when
    every value parsed, in order); ``bad`` lists ``(index, reason)`` for the values that
    are not a JSON object of the schema's types.
    """
    bad: list[tuple[int, str]] = []
    kept: np.ndarray | None = None
    if None in values or b"" in values:
        kept = np.array([i for i, v in enumerate(values) if v], dtype=np.int64)
        bad = [(i, "empty message") for i, v in enumerate(values) if not v]
        values = [values[i] for i in kept]
    if not values:
        return pl.DataFrame(schema=schema), kept, bad
    buf = b"\n".join(values)  # type: ignore[arg-type]
    if buf.count(b"\n") != len(values) - 1:
        # raw newlines can only be whitespace between JSON tokens: a space is equivalent
        values = [v.replace(b"\n", b" ").replace(b"\r", b" ") for v in values]  # type: ignore[union-attr]
        buf = b"\n".join(values)  # type: ignore[arg-type]
    try:
        df = _read(buf, schema)
        if df.height != len(values):
            raise ValueError("row count mismatch")
        return df, kept, bad
    except Exception:
        frames, good, rejected = _bisect(values, schema)  # type: ignore[arg-type]
    to_input = kept if kept is not None else np.arange(len(values))
    bad.extend((int(to_input[i]), reason) for i, reason in rejected)
    bad.sort()
    df = pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=schema)
    return df, to_input[good], bad


def _read(buf: bytes, schema: Mapping[str, pl.DataType] | None) -> pl.DataFrame:
    return pl.read_ndjson(io.BytesIO(buf), schema=schema)


def _bisect(values: list[bytes], schema: Mapping[str, pl.DataType] | None
            ) -> tuple[list[pl.DataFrame], np.ndarray, list[tuple[int, str]]]:
    """Parse halves recursively to isolate the records the reader rejects."""
    frames: list[pl.DataFrame] = []
    good: list[np.ndarray] = []
    bad: list[tuple[int, str]] = []
    stack = [(0, len(values))]
    while stack:
        lo, hi = stack.pop()
        try:
            df = _read(b"\n".join(values[lo:hi]), schema)
            if df.height != hi - lo:
                raise ValueError("record is not one JSON object")
        except Exception as exc:
            if hi - lo == 1:
                bad.append((lo, f"invalid JSON record: {_first_line(exc)}"))
            else:
                mid = (lo + hi) // 2
                stack.append((mid, hi))
                stack.append((lo, mid))
            continue
        frames.append(df)
        good.append(np.arange(lo, hi))
    idx = np.concatenate(good) if good else np.empty(0, dtype=np.int64)
    return frames, idx, bad


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


@dataclass(frozen=True)
class DecodeRaw(Operator):
    """Expose each record's bytes as a ``value`` column (and its key as ``key``).

    Examples
    --------
    >>> import streamlearn as sl
    >>> sl.decode.raw().kind
    'decode.raw'
    """

    kind: str = field(default="decode.raw", init=False, repr=False)

    def build(self) -> Step:
        return _DecodeRawStep()


class _DecodeRawStep(Step):
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        df = pl.DataFrame({"key": pl.Series(batch.keys(), dtype=pl.Binary),
                           "value": pl.Series(batch.values(), dtype=pl.Binary)})
        return batch.with_data(df)


def encode_json(df: pl.DataFrame) -> list[bytes]:
    """One JSON object per row, in order (Polars' writer; ~2M rows/s)."""
    if df.height == 0:
        return []
    buf = io.BytesIO()
    df.write_ndjson(buf)
    lines = buf.getvalue().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines
