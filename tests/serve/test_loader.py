"""What a predict step's loader holds: only the artifact chunks of its own models'
versions that may still load (real registry records and real ONNX artifacts, no broker),
and one loader per run shared by the run's partitions."""

from __future__ import annotations

import time

import numpy as np
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.batch import Batch
from streamlearn.core.operator import Context
from streamlearn.registry.records import Alias, ModelVersion, Signature
from streamlearn.registry.store import ArtifactError, plan_artifact, sha256_hex
from streamlearn.serve.errors import ModelLoadError
from streamlearn.serve.loader import Loader
from tests.serve.houses import FEATURES, linear_onnx


def chunked(name: str, version: int, data: bytes, **changes) -> tuple[ModelVersion, list]:
    """A version record whose artifact travels as chunks on the artifact topic (what
    :meth:`Registry.push` writes for a model over the inline limit)."""
    art, chunks = plan_artifact(name, version, data, topic="arts", inline_max=64, chunk_bytes=200)
    rec = ModelVersion(
        name=name,
        version=version,
        format="onnx",
        sha256=sha256_hex(data),
        size=len(data),
        signature=Signature.of(FEATURES),
        created_at=time.time(),
        artifact=art,
    )
    return rec.with_changes(**changes), chunks


def feed(loader: Loader, chunks) -> None:
    for k, v in chunks:
        loader.add_chunk(k, v)


def held(loader: Loader) -> set[tuple[str, int]]:
    return {(k.split(b"/")[0].decode(), int(k.split(b"/")[1])) for k in loader.chunks.chunks}


def test_only_unloaded_versions_of_its_own_models_are_held():
    now = time.time()
    hp1, c_hp1 = chunked("hp", 1, linear_onnx([1, 2, 3, 4]))
    hp2, c_hp2 = chunked("hp", 2, linear_onnx([4, 3, 2, 1]))
    other, c_other = chunked("other", 1, linear_onnx([1, 1, 1, 1]))
    loader = Loader(["hp"])
    feed(loader, c_hp1 + c_other + c_hp2)  # chunks come before their records
    for rec in (hp1, other, hp2):
        loader.note(rec, now)
    assert held(loader) == {("hp", 1), ("hp", 2)}  # never the other model's
    scorer = loader.scorer_for(hp1)
    X = np.array([[1, 1, 1, 1]], dtype=np.float32)
    assert scorer.predict(X)[0].tolist() == [10.0]
    # loaded: its chunks are let go of, and a replay (a new partition) adds nothing back
    assert held(loader) == {("hp", 2)}
    feed(loader, c_hp1)
    assert held(loader) == {("hp", 2)}
    assert loader.scorer_for(hp1) is scorer and loader.loads == 1  # no bytes needed
    assert loader.chunks.nbytes == sum(len(v) for _, v in c_hp2)
    # a deleted version lets go of its chunks (and a replay does not bring them back)
    loader.note(hp2.with_changes(deleted=True), now)
    feed(loader, c_hp2)
    assert loader.chunks.nbytes == 0
    # an expired version lets go of its scorer; a version expiring later keeps it
    loader.note(hp1.with_changes(expires_at=now + 0.2), now)
    assert loader.held_versions == [("hp", 1)]
    loader.prune(now + 0.5)
    assert loader.held_versions == [] and loader._scorers == {}
    # an expired version's chunks are not kept again either
    hp3, c_hp3 = chunked("hp", 3, linear_onnx([1, 1, 1, 1]), expires_at=now - 1)
    loader.note(hp3, now)
    feed(loader, c_hp3)
    assert loader.chunks.nbytes == 0


def test_a_pinned_version_holds_nothing_of_the_others():
    _, c1 = chunked("hp", 1, linear_onnx([1, 2, 3, 4]))
    _, c2 = chunked("hp", 2, linear_onnx([4, 3, 2, 1]))
    loader = Loader(["hp"], version=2)
    feed(loader, c1 + c2)
    assert held(loader) == {("hp", 2)}


def test_a_failed_load_lets_go_of_its_chunks_and_keeps_failing():
    data = linear_onnx([1, 2, 3, 4])
    bad, chunks = chunked("hp", 1, data, sha256="0" * 64)
    loader = Loader(["hp"])
    feed(loader, chunks)
    loader.note(bad, time.time())
    with pytest.raises(ArtifactError, match="digest mismatch"):
        loader.scorer_for(bad)
    assert loader.chunks.nbytes == 0
    with pytest.raises(ModelLoadError, match="digest mismatch"):  # not "still on its way"
        loader.scorer_for(bad)


def side(records) -> Batch:
    return Batch.from_frame(
        pl.DataFrame(
            {"key": [k for k, _ in records], "value": [v for _, v in records]},
            schema={"key": pl.Binary, "value": pl.Binary},
        )
    )


def test_the_partitions_of_one_run_share_a_loader_and_another_run_has_its_own():
    rec, chunks = chunked("hp", 1, linear_onnx([1, 2, 3, 4]))
    other_rec, other = chunked("other", 1, linear_onnx([1, 1, 1, 1]))
    op = sl.ml.predict("hp", output="price")
    control = side(
        [
            rec.to_record(),
            other_rec.to_record(),
            Alias("hp", "champion", 1).to_record(),
            Alias("other", "champion", 1).to_record(),
            (b"version/hp/9", b"{not json"),
        ]
    )
    features = Batch.from_frame(pl.DataFrame({f: [1.0, 2.0] for f in FEATURES}))

    def run_partitions(ctx: Context, n: int) -> list:
        steps = []
        for _ in range(n):
            step = op.build()
            step.name = "pricing"
            step.process_side("artifacts", side(chunks + other), ctx)
            step.process_side("control", control, ctx)
            out = step.process(features, ctx)
            assert out is not None and out.data["price"].to_list() == [10.0, 20.0]
            steps.append(step)
        return steps

    ctx_a, ctx_b = Context(), Context()
    a, b = run_partitions(ctx_a, 3), run_partitions(ctx_b, 2)
    assert len({id(s.loader(ctx_a)) for s in a}) == 1
    assert a[0].loader(ctx_a) is not b[0].loader(ctx_b)
    for ctx in (ctx_a, ctx_b):  # one session per run; nothing left of the artifacts
        assert ctx.metrics["pricing.model_loads"] == 1
        assert ctx.metrics["pricing.artifact_bytes_held"] == 0
        # one table per run, of this step's model only; each record parsed once
        assert ctx.metrics["pricing.invalid_control_records"] == 1
    table = a[0].loader(ctx_a).table
    assert table.names() == ["hp"] and len(table.invalid) == 1
