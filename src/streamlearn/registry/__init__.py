"""The model registry, kept in Kafka: ``sl.registry``.

Models are pushed as versions onto a compacted control topic (with their artifacts
inline or chunked onto an artifact topic); aliases (``champion``, ``challenger``) point
at versions and move; pipelines scoring with ``sl.ml.predict`` follow the topic between
two batches. This package loads no Kafka client until a registry is read or written.

Examples
--------
>>> import streamlearn as sl
>>> sl.registry.CONTROL_TOPIC
'_sl_models'

With a cluster (``kafka=`` on every call, or a :class:`Registry`)::

    v = sl.registry.push("house.onnx", name="house-price", alias="champion",
                         kafka="127.0.0.1:9092")
    sl.registry.rollback("house-price", kafka="127.0.0.1:9092")
"""

from __future__ import annotations

from typing import Any

from streamlearn.registry.control import Registry, parse_time
from streamlearn.registry.profile import compute_profile
from streamlearn.registry.records import (
    ARTIFACT_TOPIC,
    CONTROL_TOPIC,
    Alias,
    ModelVersion,
    RecordError,
    Signature,
)
from streamlearn.registry.store import ArtifactError
from streamlearn.registry.table import RegistryTable


def _reg(kafka: Any, topic: str | None) -> Registry:
    return Registry(kafka, topic=topic) if topic else Registry(kafka)


def push(
    model: Any, *, name: str, kafka: Any, topic: str | None = None, **kwargs: Any
) -> ModelVersion:
    """Push a model version; see :meth:`Registry.push`."""
    return _reg(kafka, topic).push(model, name=name, **kwargs)


def promote(
    name: str, version: int, *, kafka: Any, alias: str = "champion", topic: str | None = None
) -> Alias:
    """Point an alias at a version; see :meth:`Registry.promote`."""
    return _reg(kafka, topic).promote(name, version, alias)


def rollback(name: str, *, kafka: Any, alias: str = "champion", topic: str | None = None) -> Alias:
    """Move an alias back; see :meth:`Registry.rollback`."""
    return _reg(kafka, topic).rollback(name, alias)


def expire(
    name: str, version: int, *, kafka: Any, at: Any = None, topic: str | None = None
) -> ModelVersion:
    """Expire a version at a time; see :meth:`Registry.expire`."""
    return _reg(kafka, topic).expire(name, version, at)


def delete(name: str, version: int, *, kafka: Any, topic: str | None = None) -> ModelVersion:
    """Delete a version; see :meth:`Registry.delete`."""
    return _reg(kafka, topic).delete(name, version)


def list_versions(
    name: str | None = None, *, kafka: Any, topic: str | None = None
) -> list[ModelVersion]:
    """Every version of one model or all; see :meth:`Registry.list`."""
    return _reg(kafka, topic).list(name)


def show(name: str, *, kafka: Any, topic: str | None = None) -> dict[str, Any]:
    """A model's versions and aliases; see :meth:`Registry.show`."""
    return _reg(kafka, topic).show(name)


__all__ = [
    "ARTIFACT_TOPIC",
    "CONTROL_TOPIC",
    "Alias",
    "ArtifactError",
    "ModelVersion",
    "RecordError",
    "Registry",
    "RegistryTable",
    "Signature",
    "compute_profile",
    "delete",
    "expire",
    "list_versions",
    "parse_time",
    "promote",
    "push",
    "rollback",
    "show",
]
