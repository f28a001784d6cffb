"""``sl.decode.json``: record values (JSON objects) -> typed columns.

The bytes-to-columns work is :mod:`streamlearn.formats.json` and
:mod:`streamlearn.formats.times` (pure functions); this module is the operator around
them: which bytes to read, the required-field and timestamp checks, and dead-lettering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.operator import Context, Operator, Step
from streamlearn.core.schema import is_temporal, parse_schema
from streamlearn.formats.json import decode_values
from streamlearn.formats.times import parse_times


def json(
    schema: Mapping[str, Any] | None = None,
    *,
    required: Sequence[str] | None = None,
    time_format: str | None = None,
    name: str | None = None,
) -> DecodeJson:
    """Parse each record value as a JSON object into typed columns.

    The whole batch is parsed at once by Polars' NDJSON reader; records that are not a
    JSON object of the schema's types go to the dead-letter topic with the reason, the
    others keep their order and provenance.

    Parameters
    ----------
    schema
        Field name -> type (``"float"``, ``"int"``, ``"string"``, ``"symbol"``,
        ``"bool"``, ``"timestamp"``, ``"date"`` or a Polars dtype). Only these fields are
        read. Without a schema the types are inferred per batch (slower, and types may
        drift from batch to batch).
    required
        Fields that must be present and non-null; default: every schema field. A record
        that lacks one is dead-lettered, not passed on with a null.
    time_format
        ``strftime`` format of the timestamp fields; default: ISO 8601
        (``YYYY-MM-DD[T ]HH:MM[:SS[.f]]`` with an optional ``Z``/``±HH:MM``).
    name
        Step name (default: derived from the operator kind).

    Notes
    -----
    JSON is read strictly: raw control characters (U+0000-U+001F, line feeds included)
    inside strings, ``NaN`` and ``Infinity`` are errors. A key repeated within an object
    takes its **last** value, as in Python, JavaScript and Go (checked for the top-level
    fields read).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> raw = pl.DataFrame({"value": [b'{"bid": 1.5, "sym": "A"}', b'{oops',
    ...                               b'{"bid": 1.0, "bid": 2.0, "sym": "B"}']})
    >>> ctx = sl.Context()
    >>> sl.decode.json({"bid": "float", "sym": "symbol"}).apply(raw, ctx=ctx)["bid"].to_list()
    [1.5, 2.0]
    >>> ctx.dead_lettered
    1
    """
    return DecodeJson(schema, required, time_format, name=name)


@dataclass(frozen=True)
class DecodeJson(Operator):
    """The operator :func:`json` builds (its parameters and defaults are documented there)."""

    schema: Mapping[str, Any] | None
    required: Sequence[str] | None
    time_format: str | None
    kind: str = field(default="decode.json", init=False, repr=False)

    def build(self) -> Step:
        return _DecodeJsonStep(self)


class _DecodeJsonStep(Step):
    def __init__(self, spec: DecodeJson) -> None:
        self.schema = parse_schema(spec.schema) if spec.schema is not None else None
        self.read_schema = None
        self.temporal: dict[str, pl.DataType] = {}
        if self.schema is not None:
            self.read_schema = {
                k: (pl.String() if is_temporal(v) else v) for k, v in self.schema.items()
            }
            self.temporal = {k: v for k, v in self.schema.items() if is_temporal(v)}
        if spec.required is not None:
            self.required = list(spec.required)
        else:
            self.required = list(self.schema) if self.schema is not None else []
        self.time_format = spec.time_format

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        values = _raw_values(batch)
        df, good, bad = decode_values(values, self.read_schema)
        if bad:
            ctx.dead_letter(
                batch.take(np.array([i for i, _ in bad])), [r for _, r in bad], self.name
            )
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
        """Convert timestamps and check required fields; returns rows to dead-letter.

        The common case costs almost nothing beyond the conversion: null counts are
        metadata, so the per-row masks and reasons are only built when a row is bad.
        """
        conv: list[pl.Series] = []
        failed: list[tuple[str, pl.Series]] = []
        for name, dtype in self.temporal.items():
            if name not in df.columns:
                continue
            raw = df[name]
            parsed = parse_times(raw, dtype, self.time_format)
            conv.append(parsed)
            if parsed.null_count() != raw.null_count():
                reason = f"field {name!r}: cannot parse as {dtype}" + (
                    f" with format {self.time_format!r}"
                    if self.time_format
                    else " (expected ISO 8601; set time_format= for other layouts)"
                )
                failed.append((reason, raw.is_not_null() & parsed.is_null()))
        out = df
        if conv:  # replace the text columns in place of a copy (no query plan per batch)
            out = df.clone()
            for s in conv:
                out.replace_column(out.get_column_index(s.name), s)
        for name in self.required:
            if name not in df.columns:
                failed.append(
                    (f"field {name!r} is missing", pl.repeat(True, df.height, eager=True))
                )
            elif df[name].null_count():
                failed.append((f"field {name!r} is missing or null", df[name].is_null()))
        if not failed:
            return out, None
        masks = pl.DataFrame({f"m{i}": m for i, (_, m) in enumerate(failed)})
        why = masks.select(
            pl.coalesce(
                [pl.when(pl.col(f"m{i}")).then(pl.lit(r)) for i, (r, _) in enumerate(failed)]
            ).alias("r")
        )["r"]
        bad_mask = why.is_not_null()
        return out, (why.filter(bad_mask).to_list(), bad_mask.to_numpy())


def _raw_values(batch: Batch) -> list[bytes | None]:
    """The bytes to decode: a ``value`` column if the batch has one, else the source records."""
    if "value" in batch.data.columns and batch.data.schema["value"] in (pl.Binary, pl.String):
        col = batch.data["value"]
        if col.dtype == pl.String:
            return [v.encode() if v is not None else None for v in col.to_list()]
        return col.to_list()
    return batch.values()


__all__ = ["DecodeJson", "json"]
