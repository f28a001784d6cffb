"""formats.json: the pure functions, without an operator."""

import polars as pl

from streamlearn.formats.json import decode_values, encode_json


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
