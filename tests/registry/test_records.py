"""Control records, the registry table and artifact planning, offline."""

from __future__ import annotations

import base64

import orjson
import polars as pl
import pytest

from streamlearn.registry.profile import compute_profile
from streamlearn.registry.records import Alias, ModelVersion, RecordError, Signature, parse_record
from streamlearn.registry.store import (
    ArtifactError,
    ChunkCache,
    artifact_bytes,
    plan_artifact,
    sha256_hex,
)
from streamlearn.registry.table import RegistryTable


def version(v, data=b"model", **kw):
    return ModelVersion(
        name="m",
        version=v,
        format="onnx",
        sha256=sha256_hex(data),
        size=len(data),
        signature=Signature.of(["x"]),
        created_at=1.0,
        artifact={"inline": base64.b64encode(data).decode()},
        **kw,
    )


@pytest.mark.parametrize(
    "value, message",
    [
        (b"[1]", "not a JSON object"),
        (orjson.dumps({"type": "model"}), "'type' must be"),
        (
            orjson.dumps({"type": "alias", "name": "m", "alias": "a/b", "version": 1}),
            "invalid alias",
        ),
        (orjson.dumps({**version(1).to_json(), "sha256": "xyz"}), "sha256 must be"),
        (orjson.dumps({**version(1).to_json(), "version": 0}), "version must be >= 1"),
        (orjson.dumps({**version(1).to_json(), "artifact": {}}), "artifact must be"),
        (orjson.dumps(version(2).to_json()), "key does not match"),
    ],
)
def test_invalid_records_are_refused_in_one_line(value, message):
    with pytest.raises(RecordError, match=message) as info:
        parse_record(b"version/m/1", value)
    assert "\n" not in str(info.value)


def test_records_round_trip_and_tombstones_are_nothing():
    for rec in (
        version(1, expires_at=5.0, metadata={"a": 1}),
        Alias("m", "champion", 2, (1,), 3.0),
    ):
        assert parse_record(*rec.to_record()) == rec
    assert parse_record(b"version/m/1", None) is None


def test_alias_falls_back_only_to_versions_it_had():
    t = RegistryTable()
    for v in (1, 2, 3):
        t.apply(version(v))
    t.apply(Alias("m", "champion", 3, (1, 2)))
    assert t.resolve("m", now=0).version == 3
    t.apply(version(3, expires_at=10.0))
    assert t.resolve("m", now=9).version == 3
    assert t.resolve("m", now=10).version == 2  # expiry: back to the one before
    t.apply(version(2, deleted=True))
    assert t.resolve("m", now=10).version == 1
    t.apply(Alias("m", "champion", 3, ()))
    assert t.resolve("m", now=10) is None  # v3 expired, no earlier version: no model
    assert t.resolve("m", alias="challenger", now=0) is None
    assert t.resolve("m", version=1, now=0).version == 1
    assert t.last_version("m") == 3


def test_invalid_raw_records_are_skipped_and_remembered():
    t = RegistryTable()
    assert t.apply_raw(b"version/m/1", b"garbage") is None
    t.apply_raw(*version(1).to_record())
    assert t.get("m", 1) is not None and len(t.invalid) == 1


def test_chunked_artifact_is_reassembled_and_verified():
    data = bytes(range(256)) * 10
    art, chunks = plan_artifact("m", 1, data, topic="arts", inline_max=100, chunk_bytes=300)
    assert art["chunks"] == len(chunks) == 9
    rec = ModelVersion(
        name="m",
        version=1,
        format="onnx",
        sha256=sha256_hex(data),
        size=len(data),
        signature=Signature.of(["x"]),
        created_at=0.0,
        artifact=art,
    )
    cache = ChunkCache()
    for k, v in chunks[:-1]:
        cache.add(k, v)
    assert artifact_bytes(rec, cache) is None  # not all there yet
    key, last = chunks[-1]
    cache.add(key, last[:-1] + bytes([last[-1] ^ 1]))
    with pytest.raises(ArtifactError, match="digest mismatch"):
        artifact_bytes(rec, cache)
    cache.add(key, last)
    assert artifact_bytes(rec, cache) == data
    with pytest.raises(ArtifactError, match="over the limit"):
        plan_artifact("m", 1, data, topic="arts", max_bytes=1000)


def test_profile_has_the_statistics_per_feature():
    df = pl.DataFrame({"x": [1.0, 2.0, 3.0, None], "s": ["a", "b", "a", "a"]})
    p = compute_profile(df)
    x = p["features"]["x"]
    assert (x["min"], x["max"], x["mean"], x["null_rate"]) == (1.0, 3.0, 2.0, 0.25)
    assert x["quantiles"]["0.5"] == 2.0 and p["features"]["s"]["distinct"] == 2
