"""decode.json: fast path, bisection of bad records, schema checks."""

import polars as pl

import streamlearn as sl

SCHEMA = {"time": "timestamp", "sym": "symbol", "bid": "float", "ask": "float"}
GOOD = b'{"time":"2026-01-01T00:00:00.000100","sym":"A","bid":1.5,"ask":2.5}'


def decode(values, schema=SCHEMA):
    ctx = sl.Context()
    out = sl.decode.json(schema).apply(
        pl.DataFrame({"value": pl.Series(values, dtype=pl.Binary)}), ctx=ctx
    )
    reasons = [r for d in ctx.dead_letters for r in d.reasons]
    bad_offsets = sorted(int(o) for d in ctx.dead_letters for o in d.batch.offsets())
    return out, reasons, bad_offsets


def test_good_records_are_typed():
    out, reasons, _ = decode([GOOD, GOOD])
    assert reasons == []
    assert out.schema["time"] == pl.Datetime("us")
    assert out["bid"].to_list() == [1.5, 1.5]
    assert out["time"][0].microsecond == 100


def test_every_kind_of_bad_record_is_dead_lettered_with_a_reason():
    bad = [
        b'{"time":"2026-01-01T00:00:00","sym":"A","bid":1.5',  # truncated
        b"\xff\xfe\x00garbage",  # binary
        b'{"time":"2026-01-01T00:00:00","sym":"A","bid":"x","ask":1}',  # string for float
        b'{"time":"2026-01-01T00:00:00","sym":"A","bid":NaN,"ask":1}',  # not JSON
        b'{"time":"2026-01-01T00:00:00","sym":"A","bid":Infinity,"ask":1}',
        b"",  # empty
        b'{"time":"2026-01-01T00:00:00","sym":"A","ask":1}',  # missing field
        b'{"time":"yesterday","sym":"A","bid":1,"ask":1}',  # bad timestamp
        b"[1, 2]",  # not an object
    ]
    values = []
    for b in bad:
        values += [GOOD, b]
    out, reasons, offsets = decode(values)
    assert out.height == len(bad)
    assert offsets == list(range(1, 2 * len(bad), 2))
    assert len(reasons) == len(bad) and all(reasons)
    assert any("bid" in r and "missing" in r for r in reasons)
    assert any("time" in r for r in reasons)
    assert "empty message" in reasons


def test_pretty_printed_json_with_newlines_decodes():
    out, reasons, _ = decode([b'{"bid": 1.0,\n "ask": 2.0}'], {"bid": "float", "ask": "float"})
    assert reasons == [] and out["ask"].to_list() == [2.0]


def test_large_message_and_extra_fields():
    big = b'{"bid": 1.0, "ask": 2.0, "pad": "' + b"x" * 1_000_000 + b'"}'
    out, reasons, _ = decode([big, big], {"bid": "float", "ask": "float"})
    assert reasons == [] and out.columns == ["bid", "ask"] and out.height == 2


def test_order_is_kept_around_bad_records():
    values = [f'{{"bid": {i}.0, "ask": 0}}'.encode() if i % 7 else b"{" for i in range(100)]
    out, _, offsets = decode(values, {"bid": "float", "ask": "float"})
    assert out["bid"].to_list() == [float(i) for i in range(100) if i % 7]
    assert offsets == [i for i in range(100) if i % 7 == 0]


# issue 8 item 4: raw control characters inside strings ---------------------------------

BS = {"sym": "symbol", "bid": "float"}


def test_raw_line_feed_inside_a_string_is_dead_lettered():
    out, reasons, offsets = decode([b'{"sym": "AA\nPL", "bid": 1.0}'], BS)
    assert out.height == 0 and offsets == [0]
    assert "control character U+000A" in reasons[0]


def test_raw_carriage_return_inside_a_string_is_dead_lettered_next_to_pretty_json():
    values = [
        b'{"sym": "AA\rPL", "bid": 1.0}',
        b'{"sym": "A",\r\n "bid": 2.0}',
        b'{"sym": "B\tC", "bid": 3.0}',
        b'{"sym":\n"D", "bid": 4.0}',
    ]
    out, reasons, offsets = decode(values, BS)
    assert out["sym"].to_list() == ["A", "D"] and out["bid"].to_list() == [2.0, 4.0]
    assert offsets == [0, 2]
    assert "U+000D" in reasons[0] and "U+0009" in reasons[1]


def test_two_objects_in_one_message_stay_rejected():
    out, _, offsets = decode([b'{"sym": "A", "bid": 1}\n{"sym": "B", "bid": 2}'], BS)
    assert out.height == 0 and offsets == [0]


# issue 8 item 5: duplicate keys, last value wins (Python, JavaScript, Go) ----------------


def test_duplicate_key_takes_the_last_value():
    out, reasons, _ = decode([b'{"sym":"A","bid":1.0,"bid":2.0}', b'{"sym":"B","bid":3.0}'], BS)
    assert reasons == [] and out["bid"].to_list() == [2.0, 3.0]


def test_duplicate_key_whose_first_value_has_the_wrong_type():
    out, reasons, _ = decode([b'{"sym":"A","bid":"x","bid":2.0}'], BS)
    assert reasons == [] and out["bid"].to_list() == [2.0]


def test_duplicate_key_whose_last_value_has_the_wrong_type_is_dead_lettered():
    out, reasons, offsets = decode(
        [b'{"sym":"A","bid":1.0}', b'{"sym":"A","bid":1.0,"bid":"x"}'], BS
    )
    assert out["bid"].to_list() == [1.0] and offsets == [1] and reasons


def test_duplicate_key_spelled_with_escapes():
    out, reasons, _ = decode([b'{"sym":"A","bid":1.0,"b\\u0069d":2.0}'], BS)
    assert reasons == [] and out["bid"].to_list() == [2.0]


def test_field_name_as_a_value_is_not_a_duplicate_and_order_is_kept():
    values = [
        b'{"sym":"bid","bid":1.0}',
        b'{"sym":"A","bid":1.0,"bid":5.0}',
        b'{"sym":"C","bid":7.0}',
        b"{",
        b'{"sym":"D","bid":null,"bid":8.0}',
    ]
    out, _, offsets = decode(values, BS)
    assert out["sym"].to_list() == ["bid", "A", "C", "D"]
    assert out["bid"].to_list() == [1.0, 5.0, 7.0, 8.0] and offsets == [3]


def test_duplicate_key_without_a_schema():
    out = sl.decode.json().apply(pl.DataFrame({"value": [b'{"a": 1, "a": 2}', b'{"a": 3}']}))
    assert out["a"].to_list() == [2, 3]
