import numpy as np
import polars as pl

from streamlearn.core.batch import Batch, Origin


def frame(n: int = 4) -> Batch:
    return Batch.from_frame(
        pl.DataFrame({"x": list(range(n))}), topic="t", partition=2, first_offset=100
    )


def test_filter_and_take_keep_provenance():
    b = frame().filter(np.array([True, False, True, True])).take(np.array([2, 0]))
    assert b.data["x"].to_list() == [3, 0]
    assert b.offsets().tolist() == [103, 100]
    assert b.record_ids() == [b"t/2/103", b"t/2/100"]


def test_with_data_of_other_height_drops_row_mapping():
    b = frame().with_data(pl.DataFrame({"n": [4]}))
    assert b.rows is None and b.offsets() is None
    assert b.record_ids() == [b"t/2/103#0"]


def test_concat_shifts_rows_into_joined_origin():
    a, b = (
        frame(2),
        Batch.from_frame(pl.DataFrame({"x": [7]}), topic="t", partition=2, first_offset=50),
    )
    c = Batch.concat([a, b])
    assert c.data["x"].to_list() == [0, 1, 7]
    assert c.offsets().tolist() == [100, 101, 50]


def test_ipc_round_trip_keeps_keys_values_and_offsets():
    origin = Origin(
        "t",
        1,
        np.array([5, 6]),
        keys=[b"k", None],
        values=[b"v1", b"v2"],
        timestamps=np.array([10, 20]),
    )
    b = Batch(pl.DataFrame({"x": [1.0, 2.0]}), origin, np.array([1, 0]))
    r = Batch.from_ipc(b.to_ipc())
    assert r.data["x"].to_list() == [1.0, 2.0]
    assert r.offsets().tolist() == [6, 5]
    assert r.keys() == [None, b"k"] and r.values() == [b"v2", b"v1"]
    assert r.origin.topic == "t" and r.origin.partition == 1
