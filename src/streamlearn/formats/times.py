"""ISO 8601 text -> ``Datetime``/``Date`` columns, vectorised.

Polars parses a ``Datetime`` inside its JSON reader about ten times slower than reading
the text and converting afterwards (LIBRARY-FACTS.md), so decoders read times as text
and call :func:`parse_times`. The usual shape is parsed by NumPy straight from the Arrow
bytes (:func:`fast_iso_times`), anything else value by value with a fixed list of ISO
layouts, so whether a record parses never depends on the other records of its batch
(it used to: Polars infers one format per column).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

#: ISO 8601 layouts tried, in this order, for times the vectorised parser leaves over
_ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")
_ISO_ZONED = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_UNIT_DIGITS = {"ms": 3, "us": 6, "ns": 9}


def parse_times(raw: pl.Series, dtype: pl.DataType, time_format: str | None = None) -> pl.Series:
    """Text to ``Datetime``/``Date``, null where a value does not parse.

    With ``time_format`` every value is parsed with that ``strftime`` format. Without it,
    values must be ISO 8601: ``YYYY-MM-DD``, then optionally ``T`` or a space,
    ``HH:MM[:SS[.fraction]]`` and a ``Z`` or ``±HH:MM`` offset (converted to UTC, or to the
    dtype's zone). Each value is parsed on its own, whatever else is in the batch: the
    result never depends on how a stream was cut into batches. The common shape
    ``YYYY-MM-DD[T ]HH:MM:SS[.ffffff]`` is parsed by :func:`fast_iso_times` (NumPy over the
    raw bytes, ~10x faster than strptime); the rest by Polars, format by format.

    Examples
    --------
    >>> s = pl.Series(["2026-01-01T00:00:00.5", "2026-01-01 02:00:00+02:00", "soon"])
    >>> parse_times(s, pl.Datetime("us")).to_list()  # doctest: +NORMALIZE_WHITESPACE
    [datetime.datetime(2026, 1, 1, 0, 0, 0, 500000), datetime.datetime(2026, 1, 1, 0, 0),
     None]
    """
    if raw.dtype != pl.String:
        raw = raw.cast(pl.String, strict=False)
    if isinstance(dtype, pl.Date):
        if time_format is not None:
            return raw.str.to_date(time_format, strict=False)
        day = raw.str.to_date("%Y-%m-%d", strict=False)
        if day.null_count() == raw.null_count():
            return day
        return (
            pl.select(pl.coalesce(day, parse_times(raw, pl.Datetime("us")).dt.date()))
            .to_series()
            .alias(raw.name)
        )
    assert isinstance(dtype, pl.Datetime)
    unit, zone = dtype.time_unit or "us", dtype.time_zone
    if time_format is not None:
        return raw.str.to_datetime(time_format, time_unit=unit, time_zone=zone, strict=False)
    fast = fast_iso_times(raw, dtype)
    if fast is not None:
        return fast
    tries = [
        raw.str.to_datetime(f, time_unit=unit, time_zone=zone, strict=False) for f in _ISO_NAIVE
    ]
    for f in _ISO_ZONED:
        aware = raw.str.to_datetime(f, time_unit=unit, time_zone="UTC", strict=False)
        tries.append(aware.dt.convert_time_zone(zone) if zone else aware.dt.replace_time_zone(None))
    return pl.select(pl.coalesce(tries)).to_series().alias(raw.name)


def fast_iso_times(raw: pl.Series, dtype: pl.Datetime) -> pl.Series | None:
    """Parse ``YYYY-MM-DD[T ]HH:MM:SS[.f...]`` text with NumPy; ``None`` if any value differs.

    The layout is fixed, so the digits sit at known byte positions: one gather of the
    bytes, a few integer operations per field, a calendar check (days per month, leap
    years; hour < 24, minute and second < 60) and the days-from-civil formula. Every
    value must fit, or the caller parses the batch the general way: this path only
    accepts values whose meaning is unambiguous, so it always agrees with Polars'
    ``%Y-%m-%dT%H:%M:%S%.f``. Fractions longer than the time unit take the general way.

    Examples
    --------
    >>> fast_iso_times(pl.Series(["2024-02-29T23:59:59.25", "2026-01-01 00:00:00"]),
    ...                pl.Datetime("us")).to_list()  # doctest: +NORMALIZE_WHITESPACE
    [datetime.datetime(2024, 2, 29, 23, 59, 59, 250000), datetime.datetime(2026, 1, 1, 0, 0)]
    >>> fast_iso_times(pl.Series(["2026-02-29T00:00:00"]), pl.Datetime("us")) is None
    True
    """
    n = raw.len()
    unit = dtype.time_unit or "us"
    if (
        n == 0
        or raw.null_count()
        or dtype.time_zone not in (None, "UTC")
        or unit not in _UNIT_DIGITS
    ):
        return None
    width = _UNIT_DIGITS[unit]
    block = _text_block(raw, 20 + width)
    if block is None:
        return None
    rows, lens = block
    # every byte where a digit belongs is one (uint8 arithmetic wraps below '0'), and
    # the separators are "-", "-", "T" or " ", ":", ":"
    digits = rows[:, _DIGIT_POS] - np.uint8(48)
    seps = rows[:, _SEP_POS]
    if (
        (digits > 9).any()
        or not (seps[:, [0, 1, 3, 4]] == _SEPARATORS).all()
        or not ((seps[:, 2] == 84) | (seps[:, 2] == 32)).all()
    ):
        return None
    d = digits.T.astype(np.int32)  # (14, n), contiguous
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[4] * 10 + d[5]
    day = d[6] * 10 + d[7]
    hour = d[8] * 10 + d[9]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    dim = _DAYS_IN_MONTH[np.where(month_ok, month, 1)] + (leap & (month == 2))
    # minutes and seconds need only their tens digit checked (< 6)
    if not (
        (year >= 1) & month_ok & (day >= 1) & (day <= dim) & (hour < 24) & (d[10] < 6) & (d[12] < 6)
    ).all():
        return None
    # days from the civil date (H. Hinnant's algorithm), then ticks of the unit
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = (era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468).astype(np.int64)
    secs = hour * 3600 + (d[10] * 10 + d[11]) * 60 + d[12] * 10 + d[13]
    ticks = (days * 86_400 + secs) * 10**width
    if rows.shape[1] > 19:
        frac_len = lens - 20
        if (frac_len == 0).any() or not (rows[frac_len > 0, 19] == 46).all():  # '.' digits
            return None
        frac = rows[:, 20:] - np.uint8(48)
        given = frac.shape[1]  # <= width
        if int(frac_len.min()) < given:  # some are shorter
            frac = np.where(np.arange(given) < frac_len[:, None], frac, np.uint8(0))
        if (frac > 9).any():
            return None
        f = frac.T.astype(np.int64)
        for i in range(given):
            ticks += f[i] * 10 ** (width - 1 - i)
    out = pl.Series(raw.name, ticks).cast(pl.Datetime(unit))
    return out.dt.replace_time_zone("UTC") if dtype.time_zone == "UTC" else out


def _text_block(raw: pl.Series, max_len: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The bytes of a text column as an ``(n, width)`` uint8 matrix, and each length.

    All values of one length (the usual case) are a zero-copy view of the Arrow buffer;
    otherwise the bytes are gathered, padded with ``'0'``. ``None`` when a value is shorter
    than 19 or longer than ``max_len`` bytes.
    """
    n = raw.len()
    arr = raw.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_large_string(arr.type) or pa.types.is_string(arr.type)):
        arr = arr.cast(pa.large_string())
    bufs = arr.buffers()
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(bufs[1], dtype=off_type)[arr.offset : arr.offset + n + 1]
    offsets = offsets.astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else None
    lens = np.diff(offsets)
    lo, hi = int(lens.min()), int(lens.max())
    if data is None or lo < 19 or hi > max_len:
        return None
    if lo == hi:
        start = int(offsets[0])
        return data[start : start + n * lo].reshape(n, lo), lens
    pos = offsets[:-1, None] + np.arange(hi)
    inside = np.arange(hi) < lens[:, None]
    rows = np.where(inside, data[np.where(inside, pos, 0)], np.uint8(48))
    return rows, lens


_DIGIT_POS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_SEP_POS = np.array([4, 7, 10, 13, 16])
_SEPARATORS = np.array([45, 45, 58, 58], dtype=np.uint8)  # - - : :
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


__all__ = ["fast_iso_times", "parse_times"]
