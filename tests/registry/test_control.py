"""The registry client on the local broker: versions, aliases, rollback, expiry, delete."""

from __future__ import annotations

import time

import pytest

import streamlearn as sl
from streamlearn.core.errors import ConfigError
from tests.serve.houses import FEATURES, houses, linear_onnx, trained

pytestmark = pytest.mark.broker


@pytest.fixture
def reg(kafka, topic_factory):
    return sl.registry.Registry(
        kafka, topic=f"models-{topic_factory()}", artifact_topic=f"arts-{topic_factory()}"
    )


def test_push_promote_rollback_expire_delete(reg, tmp_path):
    path = tmp_path / "house.onnx"
    path.write_bytes(linear_onnx([1, 2, 3, 4]))
    v1 = reg.push(str(path), name="hp", alias="champion", signature=FEATURES)
    v2 = reg.push(
        trained(20, 2),
        name="hp",
        alias="challenger",
        signature=FEATURES,
        profile=houses(500).select(FEATURES),
        metadata={"run": "r2"},
    )
    assert (v1.version, v2.version, v1.format) == (1, 2, "onnx")
    assert v1.signature.outputs == ("variable",)
    assert reg.resolve("hp").version == 1 and reg.resolve("hp", "challenger").version == 2
    reg.promote("hp", 2)
    assert reg.resolve("hp").version == 2
    assert reg.rollback("hp").version == 1 and reg.resolve("hp").version == 1
    with pytest.raises(ConfigError, match="no earlier version"):
        reg.rollback("hp")
    shown = reg.show("hp")
    assert [v["aliases"] for v in shown["versions"]] == [["champion"], ["challenger"]]
    assert shown["versions"][1]["metadata"] == {"run": "r2"}
    assert shown["versions"][1]["profile"]["features"]["area"]["count"] == 500
    reg.expire("hp", 1, at=time.time() - 1)
    assert reg.resolve("hp") is None  # champion's only version expired
    reg.delete("hp", 2)
    assert [v.version for v in reg.list("hp")] == [1]
    assert (
        reg.push(linear_onnx([1, 1, 1, 1]), name="hp", format="onnx", signature=FEATURES).version
        == 3
    )  # numbers are never reused
    assert reg.table().last_version("hp") == 3


def test_user_mistakes_are_one_line_errors(reg, tmp_path):
    cases = [
        (lambda: reg.push(b"abc", name="hp"), "needs format="),
        (
            lambda: reg.push(b"abc", name="hp", format="onnx", signature=FEATURES),
            "not a loadable ONNX model",
        ),
        (lambda: reg.push(str(tmp_path / "none.onnx"), name="hp"), "no model file"),
        (lambda: reg.push(linear_onnx([1, 2]), name="a/b", format="onnx"), "invalid model"),
        (
            lambda: reg.push(linear_onnx([1, 2, 3]), name="hp", format="onnx", signature=FEATURES),
            "do not match",
        ),
        (lambda: reg.promote("hp", 7), "has no version 7"),
        (lambda: reg.expire("hp", 1, at="next tuesday"), "has no version 1"),
        (lambda: sl.registry.parse_time("next tuesday"), "not an ISO-8601 time"),
        (lambda: reg.show("nothing"), "no model named"),
    ]
    for call, message in cases:
        with pytest.raises(ConfigError, match=message) as info:
            call()
        assert "\n" not in str(info.value), message
    assert reg.list() == []
