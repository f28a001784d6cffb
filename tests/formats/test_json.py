"""formats.json: the pure functions, without an operator."""

import io

import polars as pl

from streamlearn.formats.json import SMALL_BATCH, _read_small, decode_values, encode_json


def test_decode_values_positions_and_reasons_around_duplicates_and_bad_records():
    values = [b'{"a": 1, "a": 2}', b"{", None, b'{"a": 3}', b'{"a": "x\n"}']
    df, pos, bad = decode_values(values, {"a": pl.Int64()})
    assert df["a"].to_list() == [2, 3] and pos.tolist() == [0, 3]
    assert [i for i, _ in bad] == [1, 2, 4] and "U+000A" in bad[2][1]


def test_common_case_returns_every_row_in_order():
    df, pos, bad = decode_values([b'{"a":1}', b'{"a":2}'], {"a": pl.Int64()})
    assert pos is None and bad == [] and df["a"].to_list() == [1, 2]


def test_encode_round_trip():
    df = pl.DataFrame({"s": ["a\nb"], "x": [1.5]})
    assert decode_values(encode_json(df), dict(df.schema))[0].equals(df)


# -- the small-batch decoder agrees with the NDJSON reader -------------------------------
_SMALL_SCHEMA = {"s": pl.String(), "f": pl.Float64(), "g": pl.Float32()}
_FIELD_VALUES = [
    b"true",
    b"false",
    b"1",
    b"1.5",
    b"1.50",
    b"1e5",
    b"1E-3",
    b"-0",
    b'"1.5"',
    b'"x"',
    b"[1]",
    b'{"a":1}',
    b"null",
    b"99999999999999999999",
    b"1e999",
    b"0.1",
    b'"\\u00e9"',
    b'""',
    b"[]",
    b"{}",
    b"01",
    b".5",
    b"+1",
    b"NaN",
    b'"a\\"b"',
    b"3.4028236e38",
    b'"a\tb"',
    b'"\xff"',
    b'"\\ud83d\\ude00"',
]
_RECORDS = [
    b"null",
    b" null",
    b"5",
    b"[1]",
    b'"x"',
    b"{oops",
    b'{"s":"a"},',
    b" ",
    b"{}",
    b'{"s":"a","s":"b"}',
    b'{"s" : "a" , "f" : 1 }',
    b'{"f":1}}',
    b'{"s":\n"a"}',
]


def _reader(values: list[bytes]) -> object:
    """What the NDJSON reader makes of the values: rows, or that it rejects them (line
    feeds inside a value as decode_values hands them to it, as carriage returns)."""
    lines = [v.replace(b"\n", b"\r") for v in values]
    try:
        df = pl.read_ndjson(io.BytesIO(b"\n".join(lines)), schema=_SMALL_SCHEMA)
    except Exception:
        return "rejected"
    return df.rows() if df.height == len(values) else "rejected"


def test_small_batches_decode_as_the_ndjson_reader_does_or_defer_to_it():
    records = [b'{"%s":%s}' % (k.encode(), v) for k in _SMALL_SCHEMA for v in _FIELD_VALUES]
    taken = 0
    for rec in records + _RECORDS:
        small = _read_small([rec], rec, _SMALL_SCHEMA)
        if small is not None:  # when it answers, it answers as the reader does
            taken += 1
            assert small.rows() == _reader([rec]), rec
    assert taken >= 30  # and it does answer for most plain values
    batch = [b'{"s":"a","f":1.5}', b'{"g":2.5}', b'{"s":"\\u00e9"}']
    assert _read_small(batch, b"\n".join(batch), _SMALL_SCHEMA).rows() == _reader(batch)


def test_small_path_stays_out_of_large_batches_integers_and_inferred_schemas():
    one = [b'{"s":"a"}']
    assert _read_small(one * (SMALL_BATCH + 1), b"", _SMALL_SCHEMA) is None
    assert _read_small([b'{"i":1}'], b"", {"i": pl.Int64()}) is None
    assert _read_small(one, b"", None) is None
    df, pos, bad = decode_values([b'{"f":true}', b'{"f":2}'], _SMALL_SCHEMA)
    assert df["f"].to_list() == [2.0] and pos.tolist() == [1] and [i for i, _ in bad] == [0]
