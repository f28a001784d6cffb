"""Learning steps that publish their model to the registry on a cadence.

``sl.ml.train(..., publish="fraud", every=10_000)`` and ``sl.ml.online_classifier(...,
publish="fraud", every=...)`` push a new version of the model they are learning each
time another ``every`` records have been learned, so a serving pipeline elsewhere
(``sl.ml.predict("fraud")``) picks up what the learning pipeline learned.

Operators return, the runtime publishes: the step never opens a Kafka client. A new
version is one control record (and, for a large artifact, its chunks first) handed to
``ctx.emit`` for the registry's control and artifact topics, which the operator declares
as outputs. The runtime produces them with the pipeline's own producer, so they are
flushed before the input offsets are committed (at-least-once) or written in the same
transaction as the state and the offsets (exactly-once).

Version numbers are decided by the step, deterministically: the first publication
takes one more than the highest version the control topic holds (read as a broadcast
side input, like ``sl.ml.predict`` does), and the count of versions published is part
of the step's snapshot. After a crash, the learning that was lost is done again from the
restored snapshot, and the versions it publishes again get the same numbers and the same
artifact bytes (learning is deterministic), so the compacted control topic keeps one
record per version.

One learning step publishes under one name: each partition has its own model, so
``publish=`` needs an input of one partition (a second partition in the same process is
a :class:`~streamlearn.core.errors.ConfigError`).

Examples
--------
>>> spec = Publish(name="fraud", every=1000)
>>> [s.port for s in spec.inputs()], [o.topic for o in spec.outputs()]
(['control'], ['_sl_models', '_sl_model_artifacts'])
>>> Publish(name="fraud", every=0)
Traceback (most recent call last):
...
streamlearn.core.errors.ConfigError: publish='fraud': every= must be a number of records >= 1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, OutputTopic, SideInput
from streamlearn.registry.records import (
    ARTIFACT_TOPIC,
    CONTROL_TOPIC,
    Signature,
    check_name,
)
from streamlearn.registry.store import make_version
from streamlearn.registry.table import RegistryTable

#: the side-input port of the registry's control topic
CONTROL = "control"
#: an exported model: (format, artifact bytes, output names)
Exported = tuple[str, bytes, Sequence[str]]


@dataclass(frozen=True)
class Publish:
    """Where and how often a learning step publishes: model ``name``, a version every
    ``every`` learned records, the ``alias`` moved to each new version (``None``: none),
    and the registry's topics."""

    name: str
    every: int
    alias: str | None = "champion"
    topic: str = CONTROL_TOPIC
    artifact_topic: str = ARTIFACT_TOPIC
    #: partitions whose steps publish, shared by the steps of one operator
    claimed: set[int] = field(default_factory=set, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.alias is not None:
            check_name(self.alias, "alias")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ConfigError(f"publish={self.name!r}: every= must be a number of records >= 1")

    def inputs(self) -> tuple[SideInput, ...]:
        from streamlearn import decode, read

        return (SideInput(CONTROL, read.from_kafka(self.topic) | decode.raw(), mode="broadcast"),)

    def outputs(self) -> tuple[OutputTopic, ...]:
        compact = {"cleanup.policy": "compact"}
        return (OutputTopic(self.topic, 1, compact), OutputTopic(self.artifact_topic, 1, compact))


def publish_spec(
    publish: str | None, every: int | None, alias: str | None, topic: str, artifact_topic: str
) -> Publish | None:
    """The :class:`Publish` of an operator's ``publish=``/``every=`` arguments (or None)."""
    if publish is None:
        if every is not None:
            raise ConfigError("every= needs publish='model name'")
        return None
    if every is None:
        raise ConfigError(f"publish={publish!r} needs every= (records between two versions)")
    return Publish(publish, every, alias, topic, artifact_topic)


class Publisher:
    """One step's publishing state: the registry table it has seen, the versions it has
    published, and the cadence mark it has reached."""

    def __init__(self, spec: Publish, features: Sequence[str] | None = None) -> None:
        self.spec = spec
        #: the feature columns of the published model's signature
        self.features = tuple(features) if features is not None else None
        self.table = RegistryTable()
        #: the highest version of the name before this step's first publication
        self.base: int | None = None
        #: versions published by this step; the next is ``base + versions + 1``
        self.versions = 0
        #: ``learned // every`` at the last publication
        self.mark = 0

    def on_control(self, batch: Batch) -> None:
        """Records of the control topic (the broadcast side input)."""
        data = batch.data
        for key, value in zip(data["key"].to_list(), data["value"].to_list(), strict=True):
            self.table.apply_raw(key, value)

    def due(self, learned: int) -> bool:
        """Whether ``learned`` records reach a new multiple of ``every``."""
        return learned // self.spec.every > self.mark

    def split(self, frame: pl.DataFrame, learned: int) -> list[pl.DataFrame]:
        """``frame``'s rows cut where ``learned`` plus the rows so far reach a multiple of
        ``every``, so a version is published at each cadence point even when one batch
        crosses several.

        >>> pub = Publisher(Publish(name="m", every=4))
        >>> [p.height for p in pub.split(pl.DataFrame({"x": range(10)}), learned=3)]
        [1, 4, 4, 1]
        """
        every, parts, at = self.spec.every, [], 0
        while at < frame.height:
            size = every - (learned + at) % every
            parts.append(frame.slice(at, size))
            at += size
        return parts

    def publish(
        self,
        ctx: Context,
        *,
        learned: int,
        partition: int | None,
        step: str,
        features: Sequence[str],
        export: Callable[[], Exported],
        metadata: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Publish a version if ``learned`` reached the cadence; its number (or None)."""
        if not self.due(learned):
            return None
        spec = self.spec
        part = -1 if partition is None else partition
        if spec.claimed - {part}:
            raise ConfigError(
                f"{step}: publish={spec.name!r} needs an input of one partition (each "
                f"partition learns its own model); got partitions {sorted(spec.claimed | {part})}"
            )
        spec.claimed.add(part)
        fmt, data, outputs = export()
        if self.base is None:
            self.base = self.table.last_version(spec.name)
        version = self.base + self.versions + 1
        at = ctx.wall_time()
        rec, chunks = make_version(
            spec.name,
            version,
            fmt,
            data,
            Signature.of(list(features), outputs=outputs),
            artifact_topic=spec.artifact_topic,
            metadata={"step": step, "partition": partition, "learned": learned, **(metadata or {})},
            created_at=at,
        )
        if chunks:
            _emit(ctx, spec.artifact_topic, chunks)
        records = [rec.to_record()]
        if spec.alias is not None:
            records.append(self.table.moved(spec.name, spec.alias, version, at).to_record())
        _emit(ctx, spec.topic, records)
        for key, value in records:
            self.table.apply_raw(key, value)
        self.versions += 1
        self.mark = learned // spec.every
        return version

    def publish_learner(
        self, ctx: Context, model: Any, learned: int, partition: int | None, step: str
    ) -> int | None:
        """:meth:`publish` for a streamlearn learner (or a ``partial_fit`` adapter) that
        learned ``learned`` rows of ``features`` (``model.n_features_in_`` columns)."""
        if not self.due(learned):
            return None
        from streamlearn.ml.minibatch.sklearn_adapter import export_learner

        features = self.features or ()
        return self.publish(
            ctx,
            learned=learned,
            partition=partition,
            step=step,
            features=features,
            export=lambda: export_learner(model, features),
        )

    def state(self) -> dict[str, Any]:
        return {"base": self.base, "versions": self.versions, "mark": self.mark}

    def load(self, values: Mapping[str, Any]) -> None:
        self.base = values.get("base")
        self.versions = int(values.get("versions", 0))
        self.mark = int(values.get("mark", 0))


def _emit(ctx: Context, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
    keys = [k for k, _ in records]
    values = [v for _, v in records]
    frame = pl.DataFrame(
        {"key": pl.Series(keys, dtype=pl.Binary), "value": pl.Series(values, dtype=pl.Binary)}
    )
    ctx.emit(topic, Batch(frame), values, list(keys))


def published_table(ctx: Context, spec: Publish) -> RegistryTable:
    """The registry as an offline run's context collected it (``ctx.outputs``): for
    tests and notebooks that run a publishing pipeline over a DataFrame."""
    table = RegistryTable()
    for batch in ctx.outputs.get(spec.topic, []):
        for key, value in batch.data.select("key", "value").iter_rows():
            table.apply_raw(key, value)
    return table


def published_artifact(ctx: Context, spec: Publish, name: str, version: int) -> bytes | None:
    """The verified artifact bytes of ``name`` v``version`` from an offline run."""
    from streamlearn.registry.store import ChunkCache, artifact_bytes

    rec = published_table(ctx, spec).get(name, version)
    if rec is None:
        return None
    cache = ChunkCache()
    for batch in ctx.outputs.get(spec.artifact_topic, []):
        for key, value in batch.data.select("key", "value").iter_rows():
            cache.add(key, value)
    return artifact_bytes(rec, cache)


__all__ = [
    "CONTROL",
    "Exported",
    "Publish",
    "Publisher",
    "publish_spec",
    "published_artifact",
    "published_table",
]
