"""The registry client: push, alias, promote, roll back, expire, delete, list.

The registry *is* its control topic: there is no server. A change is one record produced
to the topic (artifact chunks first, then the record that names them, so a reader never
sees a version before its bytes were sent). Reading the registry is reading the topic to
its end (partition EOF, not watermarks: right on every broker) and applying the records
in order (:class:`~streamlearn.registry.table.RegistryTable`).

Version numbers are assigned by the writer as one more than the highest ever recorded
for the name (deleted versions keep their number). Two pushes of the same name at the
same instant from two processes could pick the same number; push from one place (a CI
job, a training pipeline) per model.

Examples
--------
::

    import streamlearn as sl
    reg = sl.registry.Registry("127.0.0.1:9092")
    v = reg.push("house.onnx", name="house-price", alias="champion",
                 signature=["rooms", "area", "age"], profile=train_frame)
    reg.promote("house-price", 3)          # champion -> v3
    reg.rollback("house-price")            # champion -> back where it was before
    reg.expire("house-price", 2, at="2026-12-31T00:00Z")
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from streamlearn.core.errors import ConfigError, KafkaError
from streamlearn.kafka.config import KafkaConfig
from streamlearn.registry.artifact import to_artifact
from streamlearn.registry.records import (
    ARTIFACT_TOPIC,
    CONTROL_TOPIC,
    Alias,
    ModelVersion,
    check_name,
)
from streamlearn.registry.store import MAX_ARTIFACT_BYTES, make_version, plan_artifact
from streamlearn.registry.table import RegistryTable

log = logging.getLogger("streamlearn.registry")


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch from a number, a ``datetime`` or ISO-8601 text (UTC when
    no zone is given); ``None`` stays ``None``.

    >>> parse_time("2026-12-31T00:00Z")
    1798675200.0
    """
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return None if value is None else float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"not an ISO-8601 time: {value!r} (e.g. 2026-12-31T00:00Z)") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    raise ConfigError(f"expected a time, got {type(value).__name__}")


class Registry:
    """A model registry on a Kafka cluster (its control and artifact topics)."""

    def __init__(
        self,
        kafka: KafkaConfig | str,
        *,
        topic: str = CONTROL_TOPIC,
        artifact_topic: str = ARTIFACT_TOPIC,
        timeout: float = 30.0,
    ) -> None:
        self.kafka = (
            kafka if isinstance(kafka, KafkaConfig) else KafkaConfig(bootstrap_servers=kafka)
        )
        self.topic = topic
        self.artifact_topic = artifact_topic
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Registry({self.kafka!r}, topic={self.topic!r})"

    # -- reading --------------------------------------------------------------------------
    def table(self) -> RegistryTable:
        """The registry as it is now: the control topic read to its end."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        table = RegistryTable()
        n = self._partitions().get(self.topic)
        if n is None:
            return table
        consumer = Consumer(
            self.kafka.consumer_config(
                f"streamlearn-registry-{uuid.uuid4().hex[:8]}", **{"enable.partition.eof": True}
            )
        )
        try:
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in range(n)])
            ended: set[int] = set()
            deadline = time.monotonic() + self.timeout
            while len(ended) < n:
                if time.monotonic() > deadline:
                    raise KafkaError(f"timed out reading the registry topic {self.topic!r}")
                for m in consumer.consume(num_messages=10_000, timeout=0.2):
                    err = m.error()
                    if err is None:
                        table.apply_raw(m.key(), m.value())
                    elif err.code() == err._PARTITION_EOF:
                        ended.add(int(m.partition() or 0))
                    else:
                        raise KafkaError(f"reading {self.topic!r}: {err.str()}")
        finally:
            consumer.close()
        return table

    def list(self, name: str | None = None, *, include_deleted: bool = False) -> list[ModelVersion]:
        """Every version (of ``name``, or of all models), oldest first."""
        table = self.table()
        names = [name] if name is not None else table.names()
        return [
            v
            for n in names
            for _, v in sorted(table.versions.get(n, {}).items())
            if include_deleted or not v.deleted
        ]

    def show(self, name: str) -> dict[str, Any]:
        """A model's versions (without their artifacts) and aliases, as JSON-able data."""
        table = self.table()
        if name not in table.names():
            raise ConfigError(f"no model named {name!r} in the registry ({self.topic})")
        now = time.time()
        versions = []
        for _, v in sorted(table.versions.get(name, {}).items()):
            doc = v.to_json()
            doc.pop("artifact")
            doc["stored"] = (
                "inline"
                if "inline" in v.artifact
                else f"{v.artifact['chunks']} chunks on {v.artifact['topic']}"
            )
            doc["aliases"] = table.aliases_of(name, v.version)
            doc["valid"] = v.valid_at(now)
            versions.append(doc)
        aliases = {a: r.to_json() for a, r in sorted(table.aliases.get(name, {}).items())}
        return {"name": name, "versions": versions, "aliases": aliases}

    def resolve(self, name: str, alias: str = "champion") -> ModelVersion | None:
        """The version ``name@alias`` scores with now (None: no valid version)."""
        return self.table().resolve(name, alias=alias, now=time.time())

    # -- writing --------------------------------------------------------------------------
    def push(
        self,
        model: Any,
        *,
        name: str,
        alias: str | Sequence[str] | None = None,
        format: str | None = None,
        signature: Any = None,
        profile: Any = None,
        metadata: Mapping[str, Any] | None = None,
        expires_at: Any = None,
        max_bytes: int = MAX_ARTIFACT_BYTES,
        check: bool = True,
    ) -> ModelVersion:
        """Add a model version (the next number) and optionally point aliases at it.

        ``model`` is a path (``.onnx``, ``.skops``), bytes with ``format=``, or a fitted
        scikit-learn estimator (converted to ONNX with skl2onnx, or saved with skops when
        ``format="skops"``). ``signature`` is feature names, ``{name: type}`` or a
        :class:`~streamlearn.registry.records.Signature`; by default the profile frame's
        columns or the estimator's ``feature_names_in_``. ``profile`` is the training
        frame (statistics are computed from it) or a ready profile dict. With ``check``
        the artifact is loaded once before anything is written, so a model the serving
        side could not load is refused here.
        """
        check_name(name)
        aliases = [alias] if isinstance(alias, str) else list(alias or ())
        for a in aliases:
            check_name(a, "alias")
        fmt, data, sig, prof = to_artifact(
            model, format=format, signature=signature, profile=profile, check=check
        )
        table = self.table()
        version = table.last_version(name) + 1
        rec, chunks = make_version(
            name,
            version,
            fmt,
            data,
            sig,
            artifact_topic=self.artifact_topic,
            profile=prof,
            metadata=metadata,
            expires_at=parse_time(expires_at),
            max_bytes=max_bytes,
        )
        records = [rec.to_record()] + [
            table.moved(name, a, version, time.time()).to_record() for a in aliases
        ]
        self._write(records, chunks)
        log.info(
            "pushed %s v%d (%s, %d bytes%s)",
            name,
            version,
            fmt,
            len(data),
            f", {len(chunks)} chunks" if chunks else "",
        )
        return rec

    def promote(self, name: str, version: int, alias: str = "champion") -> Alias:
        """Point ``alias`` at ``version`` (the version it left is kept for rollback)."""
        table = self.table()
        v = table.get(name, version)
        if v is None or v.deleted:
            raise ConfigError(f"{name} has no version {version}")
        rec = table.moved(name, check_name(alias, "alias"), version, time.time())
        self._write([rec.to_record()])
        return rec

    def rollback(self, name: str, alias: str = "champion") -> Alias:
        """Move ``alias`` back to the version it pointed at before the last move."""
        table = self.table()
        cur = table.alias(name, alias)
        if cur is None:
            raise ConfigError(f"{name} has no alias {alias!r}")
        history = list(cur.history)
        while history:
            back = history.pop()
            v = table.get(name, back)
            if v is not None and not v.deleted:
                rec = Alias(name, alias, back, tuple(history), time.time())
                self._write([rec.to_record()])
                return rec
        raise ConfigError(f"{name}@{alias} has no earlier version to roll back to")

    def expire(self, name: str, version: int, at: Any = None) -> ModelVersion:
        """Stop ``version`` from scoring at ``at`` (default: now)."""
        v = self._existing(name, version)
        rec = v.with_changes(expires_at=parse_time(at) if at is not None else time.time())
        self._write([rec.to_record()])
        return rec

    def delete(self, name: str, version: int) -> ModelVersion:
        """Delete a version: it stops scoring and its artifact chunks are tombstoned (its
        number is never given again)."""
        v = self._existing(name, version)
        rec = v.with_changes(deleted=True, artifact={"inline": ""})
        tomb = [
            (k, None)
            for k, _ in plan_artifact(
                name, version, b"\0" * v.size, topic=self.artifact_topic, max_bytes=max(v.size, 1)
            )[1]
        ]
        self._write([rec.to_record()], tomb)
        return rec

    def publish(self, key: bytes, value: bytes | None) -> None:
        """Produce one raw control record (for tools that write records themselves)."""
        self._write([(key, value)])

    # -- helpers --------------------------------------------------------------------------
    def _partitions(self) -> dict[str, int]:
        """Partition counts of every topic. (Asking for one topic by name can make a broker
        auto-create it with its default partition count, as Tansu does.)"""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        try:
            meta = AdminClient(self.kafka.admin_config()).list_topics(timeout=self.timeout)
        except KafkaException as exc:
            from streamlearn.kafka.connect import check_reachable

            check_reachable(self.kafka)  # raises the one line saying why it does not answer
            raise KafkaError(f"registry: cannot list the cluster's topics: {exc}") from None
        return {
            t: len(m.partitions) for t, m in meta.topics.items() if m.error is None and m.partitions
        }

    def _existing(self, name: str, version: int) -> ModelVersion:
        v = self.table().get(name, version)
        if v is None or v.deleted:
            raise ConfigError(f"{name} has no version {version}")
        return v

    def _write(
        self,
        records: Sequence[tuple[bytes, bytes | None]],
        chunks: Sequence[tuple[bytes, bytes | None]] = (),
    ) -> None:
        from confluent_kafka import Producer

        from streamlearn.kafka.admin import ensure_topics
        from streamlearn.kafka.produce import produce

        have = self._partitions()
        missing = {t: 1 for t in (self.topic, self.artifact_topic) if t not in have}
        if missing:
            ensure_topics(self.kafka, missing, config_overrides={"cleanup.policy": "compact"})
        producer = Producer(self.kafka.producer_config(**{"linger.ms": 0}))
        failed: list[str] = []

        def report(err: Any, msg: Any) -> None:
            if err is not None:
                failed.append(str(err))

        for topic, items in ((self.artifact_topic, chunks), (self.topic, records)):
            for key, value in items:
                produce(producer, topic, value, key, on_delivery=report)
            if producer.flush(self.timeout) or failed:  # chunks land before their record
                raise KafkaError(
                    f"registry write to {topic!r} failed: "
                    f"{failed[0] if failed else 'not delivered in time'}"
                )


__all__ = ["Registry", "parse_time"]
