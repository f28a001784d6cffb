"""JSON objects <-> columns, a whole batch at a time (pure functions, no operator).

Decoding joins the values into one NDJSON buffer and parses it with Polars' Rust reader
against the schema: one call per batch, no ``json.loads`` per record. Only the schema's
fields are materialised (extra fields are skipped by the reader), which is most of the
speed on wide records.

Bad records must not cost the good ones their speed, nor be lost. When the one-shot
parse fails, the batch is bisected: each half is parsed again, down to the single bad
records, which are returned with the reason. ``b`` bad records among ``n`` cost about
``b * log2(n)`` extra parses.

Two things the NDJSON reader gets wrong on its own are corrected here, each at the cost
of one pass over the buffer in the common case and a Python parse of the few rows
concerned:

* **Line feeds.** The records are framed by ``\\n``, so a value containing one would be
  split. A raw line feed is only legal *between* JSON tokens (pretty-printed records);
  it is replaced by ``\\r``, equivalent there, which the reader still rejects *inside* a
  string, where JSON forbids every raw control character (U+0000-U+001F). Such records
  are dead-lettered with the character and where it is.
* **Duplicate keys.** The reader keeps the first value of a repeated key; Python,
  JavaScript and Go keep the last, and so does this module: the rows where a field name
  occurs more often than it has values (a count over the buffer per field, compared with
  the column's null count, which is metadata) are parsed with :func:`json.loads`, which
  keeps the last value, and read again. Only top-level keys are checked.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

#: a reason for every value that does not decode, by its index in the input
Rejected = list[tuple[int, str]]
#: up to this many rows, batches are parsed and written without Polars' query engine
#: (:func:`_read_small`, :func:`encode_json`); beyond, its threads win (20k trades: ~5 ms
#: to parse there against ~7 ms one value at a time, ~7 ms to write against ~10 ms)
SMALL_BATCH = 4096


def decode_values(
    values: list[bytes | None], schema: Mapping[str, pl.DataType] | None
) -> tuple[pl.DataFrame, np.ndarray | None, Rejected]:
    """Parse JSON objects; returns ``(frame, positions, bad)``.

    ``positions`` gives, for each row of the frame, the index of its value (``None`` when
    every value parsed, in order); ``bad`` lists ``(index, reason)`` for the values that
    are not a JSON object of the schema's types. Timestamps are not converted here (read
    them as ``pl.String`` and see :mod:`streamlearn.formats.times`).

    Examples
    --------
    >>> df, pos, bad = decode_values([b'{"bid": 1.5, "bid": 2.5}', b'{"bid": 1', None],
    ...                              {"bid": pl.Float64()})
    >>> df["bid"].to_list(), pos.tolist(), [i for i, _ in bad]
    ([2.5], [0], [1, 2])
    """
    bad: Rejected = []
    kept: np.ndarray | None = None
    if not all(values):  # a None or empty value (truthiness: no comparison per value)
        kept = np.array([i for i, v in enumerate(values) if v], dtype=np.int64)
        bad = [(i, "empty message") for i, v in enumerate(values) if not v]
        values = [values[i] for i in kept]
    if not values:
        return pl.DataFrame(schema=schema), kept, bad
    df, good, rejected = _parse(values, schema)  # type: ignore[arg-type]
    if good is None:
        return df, kept, bad
    to_input = kept if kept is not None else np.arange(len(values))
    bad.extend((int(to_input[i]), reason) for i, reason in rejected)
    bad.sort()
    return df, to_input[good], bad


def encode_json(df: pl.DataFrame) -> list[bytes]:
    """One JSON object per row, in order (Polars' JSON writer; ~2M rows/s).

    Up to ``SMALL_BATCH`` rows go through ``struct.json_encode`` (the serializer
    ``write_ndjson`` uses, the same bytes) in one ``select``: ``write_ndjson`` plans a
    streaming sink, a fixed ~0.15 ms that dominated small batches (BENCHMARKS.md,
    per-batch cost). Larger frames take ``write_ndjson``, whose threads then win (20k
    rows: ~7 ms against ~10 ms), as does a frame with no columns.

    Examples
    --------
    >>> encode_json(pl.DataFrame({"sym": ["A", "B"], "bid": [1.5, None]}))
    [b'{"sym":"A","bid":1.5}', b'{"sym":"B","bid":null}']
    """
    if df.height == 0:
        return []
    if df.width and df.height <= SMALL_BATCH:
        rows = pl.struct(pl.all()).struct.json_encode().cast(pl.Binary)
        return df.select(rows).to_series().to_list()
    buf = io.BytesIO()
    df.write_ndjson(buf)
    lines = buf.getvalue().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _parse(
    values: list[bytes], schema: Mapping[str, pl.DataType] | None
) -> tuple[pl.DataFrame, np.ndarray | None, Rejected]:
    """:func:`decode_values` for non-empty values; positions ``None`` when all parsed."""
    originals = values
    buf = b"\n".join(values)
    good: np.ndarray | None = None
    rejected: Rejected = []
    small = _read_small(values, buf, schema)
    if small is not None:
        df = small
    else:
        # one vectorised count (cheaper than bytes.count): a line feed inside a value?
        if np.count_nonzero(np.frombuffer(buf, dtype=np.uint8) == 10) != len(values) - 1:
            values = [v.replace(b"\n", b"\r") for v in values]
            buf = b"\n".join(values)
        try:
            df = _read(buf, schema)
            if df.height != len(values):
                raise ValueError("row count mismatch")
        except Exception:
            frames, good, rejected = _bisect(values, originals, schema)
            df = (
                pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=schema)
            )
            buf = b"\n".join([values[i] for i in good])
    suspects = _duplicate_suspects(buf, df, values if good is None else [values[i] for i in good])
    if suspects is None:
        return df, good, rejected
    # rows of df -> indices of values: the identity, or the rows the bisection kept
    to_in = np.arange(len(values)) if good is None else good
    df, rows, rejected_dup = _last_wins(df, [values[i] for i in to_in[suspects]], suspects, schema)
    rejected += [(int(to_in[i]), r) for i, r in rejected_dup]
    rejected.sort()
    return df, to_in[rows], rejected


def _read(buf: bytes, schema: Mapping[str, pl.DataType] | None) -> pl.DataFrame:
    return pl.read_ndjson(io.BytesIO(buf), schema=schema)


#: the types :func:`_read_small` reads exactly as the NDJSON reader does (checked value
#: by value in tests/formats/test_json.py): integers, lists and categoricals are cast
#: more leniently by ``str.json_decode`` (``1.5`` or ``true`` into an integer)
_SMALL_TYPES = (pl.String, pl.Float64, pl.Float32)


def _read_small(
    values: list[bytes], buf: bytes, schema: Mapping[str, pl.DataType] | None
) -> pl.DataFrame | None:
    """A small batch parsed as one ``str.json_decode`` over a column of the values, or
    ``None``: then the NDJSON reader parses it, with its bisection of bad records.

    ``pl.read_ndjson`` plans and runs a query on the thread pool: ~0.15 ms for 50
    values when its threads are awake, ~0.45 ms when they slept between batches (a
    live stream at 10k records/s), the largest fixed cost of a small batch. The decoder
    gives the same frame for the types in ``_SMALL_TYPES`` with two exceptions, which
    send the batch the other way: a JSON ``true``/``false`` becomes ``1.0``/``0.0`` in
    a float field (the reader rejects it; so any batch holding those words takes the
    reader) and a ``null`` record a row of nulls. Anything it cannot parse (a nested
    value for a text field, bad JSON, bad UTF-8) raises, and the reader takes over.

    >>> _read_small([b'{"x": 1.5}', b'{"y": "a"}'], b"", {"x": pl.Float64, "y": pl.String}).rows()
    [(1.5, None), (None, 'a')]
    """
    if (
        schema is None
        or not schema
        or len(values) > SMALL_BATCH
        or not all(t in _SMALL_TYPES for t in schema.values())
        or b"true" in buf
        or b"false" in buf
    ):
        return None
    try:
        col = pl.Series(values, dtype=pl.Binary).cast(pl.String)
        rows = col.str.json_decode(pl.Struct(schema))
    except Exception:
        return None
    if rows.len() != len(values) or rows.null_count():
        return None
    return rows.struct.unnest()


def _bisect(
    values: list[bytes], originals: list[bytes], schema: Mapping[str, pl.DataType] | None
) -> tuple[list[pl.DataFrame], np.ndarray, Rejected]:
    """Parse halves recursively to isolate the records the reader rejects."""
    frames: list[pl.DataFrame] = []
    good: list[np.ndarray] = []
    bad: Rejected = []
    stack = [(0, len(values))]
    while stack:
        lo, hi = stack.pop()
        try:
            df = _read(b"\n".join(values[lo:hi]), schema)
            if df.height != hi - lo:
                raise ValueError("record is not one JSON object")
        except Exception as exc:
            if hi - lo > 1:
                mid = (lo + hi) // 2
                stack.append((mid, hi))
                stack.append((lo, mid))
                continue
            # the reader keeps a repeated key's first value: the last one may be fine
            message = _first_line(exc)
            resolved, why = _exact(originals[lo])
            if resolved is not None:
                try:
                    df = _read(resolved, schema)
                except Exception as again:
                    message = _first_line(again)
                else:
                    frames.append(df)
                    good.append(np.arange(lo, hi))
                    continue
            bad.append((lo, why or f"invalid JSON record: {message}"))
            continue
        frames.append(df)
        good.append(np.arange(lo, hi))
    idx = np.concatenate(good) if good else np.empty(0, dtype=np.int64)
    return frames, idx, bad


def _duplicate_suspects(buf: bytes, df: pl.DataFrame, values: list[bytes]) -> np.ndarray | None:
    """Rows that may repeat a top-level key of ``df`` (``None``: none can).

    One proof: every colon of valid JSON separates a key from its value or lies inside
    a string. Each value in ``df`` has a key, so its colon, and the colons inside string
    values are others; when the buffer holds no more colons than that (and no escape,
    which could stand for a colon), it holds no other key, so no repeated one. That
    holds for records made of the schema's fields (S1, S4). The other, per field (tried
    first for small batches, where it is cheaper): a row with a value for ``f`` holds
    ``"f"`` at least once, so when the buffer holds ``"f"`` as many times as the column
    has values, no row holds it twice.
    Suspects are a superset (``"f"`` may also be a string value); :func:`_exact` decides.
    """
    n = len(values)
    backslash = b"\\" in buf
    # either proof is enough; the cheaper first: for a small batch the per-field counts
    # (a few bytes.count calls, half the colon proof's Arrow buffers), for a large one the
    # colon proof (one pass, 8x faster than four bytes.count passes over 1.6 MB)
    colons = n > SMALL_BATCH and not backslash
    if colons and _colons(buf) == _expected_colons(df):
        return None
    clean = [f for f in df.columns if buf.count(b'"%s"' % f.encode()) == n - df[f].null_count()]
    escaped = backslash and b"\\u" in buf  # keys spelled with \u escapes are not counted
    if len(clean) == len(df.columns) and not escaped:
        return None
    if not colons and not backslash and _colons(buf) == _expected_colons(df):
        return None
    raw = pl.Series(values, dtype=pl.Binary).cast(pl.String, strict=False)
    hits = [
        raw.str.count_matches(f'"{f}"', literal=True) >= 2 for f in df.columns if f not in clean
    ]
    if escaped:
        hits.append(raw.str.contains("\\u", literal=True))
    mask = pl.select(pl.any_horizontal(hits)).to_series().fill_null(False)
    rows = np.flatnonzero(mask.to_numpy())
    return rows if len(rows) else None


def _colons(buf: bytes) -> int:
    return int(np.count_nonzero(np.frombuffer(buf, dtype=np.uint8) == 58))


def _expected_colons(df: pl.DataFrame) -> int:
    """One colon per value, plus those inside string values (counted in Arrow's buffer)."""
    total = df.height * df.width - sum(df.null_count().row(0))
    for name, dtype in df.schema.items():
        if dtype == pl.String:
            arr = df[name].to_arrow()
            chunks = arr.chunks if hasattr(arr, "chunks") else [arr]
            for chunk in chunks:
                if len(chunk) == 0 or chunk.buffers()[2] is None:
                    continue
                off_t = np.int64 if chunk.type == pa.large_string() else np.int32
                offsets = np.frombuffer(chunk.buffers()[1], dtype=off_t)
                lo, hi = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
                data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[lo:hi]
                total += int(np.count_nonzero(data == 58))
        elif not dtype.is_numeric() and dtype != pl.Boolean:
            return -1  # nested values hold keys of their own: take the per-field way
    return total


def _last_wins(
    df: pl.DataFrame,
    suspects: list[bytes],
    rows: np.ndarray,
    schema: Mapping[str, pl.DataType] | None,
) -> tuple[pl.DataFrame, np.ndarray, Rejected]:
    """Re-read the suspect ``rows`` of ``df`` with each repeated key's last value."""
    fixed: list[int] = []
    texts: list[bytes] = []
    for row, value in zip(rows.tolist(), suspects, strict=True):
        resolved, _ = _exact(value)
        if resolved is not None:
            fixed.append(row)
            texts.append(resolved)
    if not fixed:
        return df, np.arange(df.height), []
    frames, good, rejected = _bisect(texts, texts, schema)
    where = np.asarray(fixed, dtype=np.int64)
    keep = np.ones(df.height, dtype=bool)
    keep[where] = False
    parts = [df.filter(pl.Series(keep)).with_columns(pl.Series("__sl_pos", np.flatnonzero(keep)))]
    if frames:
        parts.append(
            pl.concat(frames, how="vertical_relaxed").with_columns(
                pl.Series("__sl_pos", where[good])
            )
        )
    out = pl.concat(parts, how="diagonal_relaxed").sort("__sl_pos")
    pos = out["__sl_pos"].to_numpy()
    return (out.drop("__sl_pos"), pos, [(int(where[i]), reason) for i, reason in rejected])


def _exact(value: bytes) -> tuple[bytes | None, str | None]:
    """Parse one value with the standard library: the slow, exact path.

    Returns the value re-encoded without repeated keys (the last value kept) when it has
    some; ``(None, reason)`` when it is not valid JSON, naming a raw control character
    if that is why; ``(None, None)`` when it is valid and repeats no key.
    """
    repeated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        out = dict(items)
        repeated = repeated or len(out) != len(items)
        return out

    try:
        text = value.decode("utf-8")
        obj = json.loads(text, object_pairs_hook=pairs, parse_constant=_no_constant)
    except UnicodeDecodeError:
        return None, None
    except ValueError as exc:
        pos = getattr(exc, "pos", None)
        if isinstance(exc, json.JSONDecodeError) and exc.msg.startswith("Invalid control"):
            char = text[pos] if pos is not None and pos < len(text) else "?"
            return None, (
                f"invalid JSON record: raw control character U+{ord(char):04X} "
                f"inside a string at character {pos}; JSON requires it escaped "
                f"(\\u{ord(char):04x})"
            )
        return None, None
    if not repeated:
        return None, None
    return json.dumps(obj, separators=(",", ":")).encode(), None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


__all__ = ["decode_values", "encode_json"]
