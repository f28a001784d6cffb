"""Encode operator state as bytes without pickle.

State snapshots travel through Kafka (the state topic) and may be read by another
process or another version of streamlearn, so they must never execute code when
loaded. A snapshot is a small JSON document plus named NumPy arrays, packed as::

    b"SLS1" | u32 header length | JSON header | array payloads

The JSON header holds the plain values and, for each array, its dtype, shape,
offset and length. Object arrays are refused: anything that is not numeric or
fixed-width text has to be converted by the operator first.

Examples
--------
>>> import numpy as np
>>> blob = encode_state({"k": 3, "seen": 10}, {"centroids": np.eye(2)})
>>> values, arrays = decode_state(blob)
>>> values["k"], arrays["centroids"].tolist()
(3, [[1.0, 0.0], [0.0, 1.0]])
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from streamlearn.core.errors import StateError

_MAGIC = b"SLS1"


def encode_state(
    values: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None
) -> bytes:
    """Pack JSON-able ``values`` and NumPy ``arrays`` into one immutable byte string."""
    index: dict[str, dict[str, Any]] = {}
    payloads: list[bytes] = []
    offset = 0
    for name, array in (arrays or {}).items():
        # np.ascontiguousarray makes a 0-d array 1-d: keep the shape (scalars stay scalars)
        arr = np.ascontiguousarray(array).reshape(np.shape(array))
        if arr.dtype.hasobject:
            raise StateError(f"state array {name!r} has dtype object; convert it first")
        raw = arr.tobytes()
        index[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape), "at": offset}
        payloads.append(raw)
        offset += len(raw)
    header = orjson.dumps(
        {"values": dict(values), "arrays": index}, option=orjson.OPT_SERIALIZE_NUMPY
    )
    return b"".join([_MAGIC, struct.pack("<I", len(header)), header, *payloads])


def decode_state(blob: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Unpack what :func:`encode_state` wrote; arrays are read-only views copied out."""
    if not blob.startswith(_MAGIC):
        raise StateError("not a streamlearn state snapshot (bad magic bytes)")
    (size,) = struct.unpack_from("<I", blob, 4)
    header = orjson.loads(blob[8 : 8 + size])
    base = 8 + size
    arrays: dict[str, np.ndarray] = {}
    for name, meta in header["arrays"].items():
        dtype = np.dtype(meta["dtype"])
        shape = tuple(meta["shape"])
        count = int(np.prod(shape)) if shape else 1
        start = base + meta["at"]
        flat = np.frombuffer(blob, dtype=dtype, count=count, offset=start)
        arrays[name] = flat.reshape(shape).copy()
    return header["values"], arrays
