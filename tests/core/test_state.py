import numpy as np
import pytest

from streamlearn.core.errors import StateError
from streamlearn.core.state import decode_state, encode_state


def test_round_trip_values_and_arrays():
    arrays = {"c": np.arange(6, dtype=np.float32).reshape(2, 3), "labels": np.array(["a", "bc"])}
    values, out = decode_state(encode_state({"n": 3, "name": "x"}, arrays))
    assert values == {"n": 3, "name": "x"}
    assert out["c"].dtype == np.float32 and out["c"].tolist() == arrays["c"].tolist()
    assert out["labels"].tolist() == ["a", "bc"]


def test_object_arrays_and_foreign_bytes_are_refused():
    with pytest.raises(StateError):
        encode_state({}, {"o": np.array([object()])})
    with pytest.raises(StateError):
        decode_state(b"\x80\x04pickle")
