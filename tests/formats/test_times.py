"""Timestamps in decode.json: the vectorised ISO 8601 parser and its general fallback."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.formats.times import fast_iso_times, parse_times

US = pl.Datetime("us")


def polars_reference(values: list[str], dtype: pl.Datetime = US) -> list:
    return (
        pl.Series(values)
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit=dtype.time_unit, strict=False)
        .to_list()
    )


def random_times(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    base = np.datetime64("0001-01-01T00:00:00", "us")
    span = np.datetime64("9999-12-31T23:59:59", "us") - base
    stamps = base + (rng.random(n) * span.astype(np.int64)).astype("timedelta64[us]")
    out = []
    for i, s in enumerate(np.datetime_as_string(stamps, unit="us")):
        digits = int(rng.integers(0, 7))
        text = s[:19] + ("." + s[20 : 20 + digits] if digits else "")
        out.append(text if i % 3 else text.replace("T", " "))
    return out


def test_fast_parser_agrees_with_polars_on_random_valid_times():
    values = random_times(20_000, seed=1)
    fast = fast_iso_times(pl.Series(values), US)
    assert fast is not None and fast.dtype == US
    assert fast.to_list() == polars_reference([v.replace(" ", "T") for v in values])


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-29T23:59:59.999999",
        "2000-02-29T00:00:00",
        "1900-02-28T12:00:00",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59.5",
        "2026-12-31 00:00:00.000001",
        "2026-04-30T10:20:30.1",
    ],
)
def test_fast_parser_edges_of_the_calendar(text):
    fast = fast_iso_times(pl.Series([text]), US)
    assert fast is not None
    assert fast.to_list() == polars_reference([text.replace(" ", "T")])


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-29T00:00:00",
        "1900-02-29T00:00:00",
        "2026-04-31T00:00:00",
        "2026-13-01T00:00:00",
        "2026-00-10T00:00:00",
        "2026-01-00T00:00:00",
        "2026-01-01T24:00:00",
        "2026-01-01T00:60:00",
        "2026-01-01T00:00:60",
        "0000-01-01T00:00:00",
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00+02:00",
        "2026-01-01T00:00:00.",
        "2026-01-01T00:00:00.1234567",
        "2026-01-01t00:00:00",
        "2026/01/01T00:00:00",
        "2026-01-01T00:00:0x",
        "２026-01-01T00:00:00",
        "2026-01-01",
        "2026-01-01T00:00",
        " 2026-01-01T00:00:00",
        "2026-01-01T00:00:00 ",
    ],
)
def test_fast_parser_leaves_anything_else_to_the_general_path(text):
    # one odd value sends the whole batch the general way, never to a wrong answer
    assert fast_iso_times(pl.Series(["2026-01-01T00:00:00", text]), US) is None


def test_fast_parser_units_zones_nulls_and_sliced_input():
    values = ["2026-01-01T00:00:00.123", "2026-01-02T00:00:00"]
    ms = fast_iso_times(pl.Series(values), pl.Datetime("ms"))
    assert ms is not None and ms.dtype == pl.Datetime("ms")
    assert ms[0] == dt.datetime(2026, 1, 1, 0, 0, 0, 123000)
    assert fast_iso_times(pl.Series(["2026-01-01T00:00:00.1234"]), pl.Datetime("ms")) is None
    ns = fast_iso_times(pl.Series(["2026-01-01T00:00:00.123456789"]), pl.Datetime("ns"))
    assert ns is not None and ns.dt.nanosecond()[0] == 123456789
    utc = fast_iso_times(pl.Series(values), pl.Datetime("us", "UTC"))
    assert utc is not None and utc.dtype == pl.Datetime("us", "UTC")
    assert fast_iso_times(pl.Series(values), pl.Datetime("us", "Europe/Paris")) is None
    assert fast_iso_times(pl.Series(["2026-01-01T00:00:00", None]), US) is None
    assert fast_iso_times(pl.Series([], dtype=pl.String), US) is None
    # a slice of a longer column (Arrow offset) and a multi-chunk column
    long = pl.Series(random_times(100, seed=2)).slice(37, 20)
    assert fast_iso_times(long, US).to_list() == polars_reference(
        [v.replace(" ", "T") for v in long.to_list()]
    )
    chunked = pl.concat([pl.Series(values), pl.Series(values)], rechunk=False)
    assert (
        fast_iso_times(chunked, US).to_list() == fast_iso_times(pl.Series(values * 2), US).to_list()
    )


def test_general_path_iso_variants_zones_and_garbage():
    values = [
        "2026-01-01T00:00:00Z",
        "2026-01-01T02:00:00+02:00",
        "2026-01-01 03:00:00.5-01:00",
        "2026-01-01T00:00:00.1234567",
        "2026-01-01T10:30",
        "2026-02-29T00:00:00",
        "1/2/2026",
        "yesterday",
        None,
    ]
    got = parse_times(pl.Series(values), US).to_list()
    assert got == [
        dt.datetime(2026, 1, 1),
        dt.datetime(2026, 1, 1),
        dt.datetime(2026, 1, 1, 4, 0, 0, 500000),
        dt.datetime(2026, 1, 1, 0, 0, 0, 123456),
        dt.datetime(2026, 1, 1, 10, 30),
        None,
        None,
        None,
        None,
    ]
    aware = parse_times(
        pl.Series(["2026-01-01T02:00:00+02:00", "2026-01-01T00:00:00"]), pl.Datetime("us", "UTC")
    )
    assert aware.dtype == pl.Datetime("us", "UTC")
    assert [t.replace(tzinfo=None) for t in aware.to_list()] == [dt.datetime(2026, 1, 1)] * 2
    custom = parse_times(
        pl.Series(["01/02/2026 10:00", "2026-01-01T00:00:00"]), US, "%d/%m/%Y %H:%M"
    )
    assert custom.to_list() == [dt.datetime(2026, 2, 1, 10, 0), None]
    days = parse_times(pl.Series(["2026-01-05", "2026-01-06T10:00:00", "x"]), pl.Date())
    assert days.to_list() == [dt.date(2026, 1, 5), dt.date(2026, 1, 6), None]


def decode(values, schema, **kw):
    ctx = sl.Context()
    frame = pl.DataFrame({"value": pl.Series(values, dtype=pl.Binary)})
    out = sl.decode.json(schema, **kw).apply(frame, ctx=ctx)
    reasons = {
        int(o): r
        for d in ctx.dead_letters
        for o, r in zip(d.batch.offsets(), d.reasons, strict=True)
    }
    return out, reasons


def test_each_record_parses_the_same_alone_or_in_any_batch():
    times = [
        "2026-01-01T00:00:00",
        "2026-01-01T00:00:01.5Z",
        "1/2/2026",
        "2026-01-01 00:00:02.25",
        "2026-02-30T00:00:00",
        "2026-01-01T00:00:03.1234567",
    ]
    values = [f'{{"time":"{t}","x":{i}}}'.encode() for i, t in enumerate(times)]
    schema = {"time": "timestamp", "x": "int"}
    together, bad_together = decode(values, schema)
    alone = [decode([v], schema) for v in values]
    assert sorted(bad_together) == [2, 4]
    assert "ISO 8601" in bad_together[2] and "time_format" in bad_together[2]
    assert together["time"].to_list() == [a["time"][0] for a, bad in alone if not bad]
    for batch_size in (1, 2, 4):
        ctx = sl.Context()
        frame = pl.DataFrame({"value": pl.Series(values, dtype=pl.Binary)})
        out = sl.decode.json(schema).apply(frame, ctx=ctx, batch_size=batch_size)
        assert out["time"].to_list() == together["time"].to_list()


def test_missing_null_and_non_finite_fields_are_dead_lettered_with_reasons():
    values = [
        b'{"time":"2026-01-01T00:00:00","x":1.0}',
        b'{"x":1.0}',
        b'{"time":null,"x":1.0}',
        b'{"time":"2026-01-01T00:00:00","x":NaN}',
        b'{"time":"2026-01-01T00:00:00","x":Infinity}',
        b'{"time":"2026-01-01T00:00:00"}',
        b'{"time":"2026-01-01T00:00:00","x":1e400}',
    ]
    out, bad = decode(values, {"time": "timestamp", "x": "float"})
    assert out.height == 1 and sorted(bad) == [1, 2, 3, 4, 5, 6]
    assert "'time' is missing or null" in bad[1] and "'time' is missing or null" in bad[2]
    assert "'x' is missing or null" in bad[5]
    assert all(bad.values())


def test_optional_fields_and_a_megabyte_of_padding():
    big = b'{"time":"2026-01-01T00:00:00.5","pad":"' + b"x" * 1_000_000 + b'"}'
    out, bad = decode(
        [big, b'{"pad":"y"}'], {"time": "timestamp", "pad": "string"}, required=["pad"]
    )
    assert bad == {}
    assert out["time"].to_list() == [dt.datetime(2026, 1, 1, 0, 0, 0, 500000), None]
    assert len(out["pad"][0]) == 1_000_000
