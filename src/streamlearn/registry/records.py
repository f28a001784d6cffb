"""The records of the model registry: what the control topic holds, as JSON.

The control topic is compacted and keyed by entity, so "the last value per key wins":

* ``version/<name>/<version>`` -> a :class:`ModelVersion` (one per pushed version; an
  expiry or a deletion republishes it with ``expires_at`` or ``deleted`` set, so version
  numbers are never reused even after compaction);
* ``alias/<name>/<alias>`` -> an :class:`Alias` (the version it points at and the
  versions it pointed at before, newest last, for rollback).

Records are plain JSON (no pickle, no classes named in the data): any process in any
language can read and write them. :func:`parse_record` validates one and raises
:class:`RecordError` (one line) for anything malformed; the serving side logs and skips
such records, so a bad record never stops scoring.

Examples
--------
>>> sig = Signature.of(["rooms", "area"], outputs=["variable"])
>>> v = ModelVersion(name="house-price", version=1, format="onnx", sha256="ab" * 32,
...                  size=10, signature=sig, created_at=0.0, artifact={"inline": "AA=="})
>>> key, value = v.to_record()
>>> key
b'version/house-price/1'
>>> parse_record(key, value) == v
True
>>> parse_record(b"version/x/1", b"{not json").__class__.__name__
Traceback (most recent call last):
...
streamlearn.registry.records.RecordError: control record b'version/x/1': not JSON
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from streamlearn.core.errors import ConfigError

#: the default control topic (compacted, one partition) and artifact topic
CONTROL_TOPIC = "_sl_models"
ARTIFACT_TOPIC = "_sl_model_artifacts"
#: formats the serving side can load (see :mod:`streamlearn.serve.loader`); "streamlearn"
#: is a streamlearn learner's snapshot (:mod:`streamlearn.serve.learner`), "river" an
#: allow-listed River model as JSON (:mod:`streamlearn.formats.river`)
FORMATS = ("onnx", "skops", "streamlearn", "river")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_TYPES = ("float", "int", "bool", "string")


class RecordError(ConfigError):
    """A control record (or the arguments that would make one) is not valid."""


def check_name(name: str, what: str = "model name") -> str:
    """A model or alias name: letters, digits, ``.``, ``_``, ``-`` (no ``/``: keys use it).

    >>> check_name("house-price")
    'house-price'
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise RecordError(f"invalid {what} {name!r}: use letters, digits, '.', '_', '-'")
    return name


@dataclass(frozen=True)
class Signature:
    """The inputs a model takes (feature names and types, in order) and its outputs."""

    features: tuple[tuple[str, str], ...]
    outputs: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, features: Sequence[str] | Mapping[str, str], *, outputs: Sequence[str] = ()
    ) -> Signature:
        """From feature names (all ``float``) or a ``{name: type}`` mapping.

        >>> Signature.of({"rooms": "int", "area": "float"}).names
        ('rooms', 'area')
        """
        items = (
            list(features.items())
            if isinstance(features, Mapping)
            else [(f, "float") for f in features]
        )
        if not items:
            raise RecordError("a signature needs at least one feature")
        for name, kind in items:
            if not isinstance(name, str) or not name:
                raise RecordError(f"signature feature names must be text, got {name!r}")
            if kind not in _TYPES:
                raise RecordError(f"feature {name!r}: type must be one of {_TYPES}, not {kind!r}")
        names = [n for n, _ in items]
        if len(set(names)) != len(names):
            raise RecordError(f"signature features repeat a name: {names}")
        return cls(tuple((n, t) for n, t in items), tuple(str(o) for o in outputs))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.features)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": [{"name": n, "type": t} for n, t in self.features],
            "outputs": list(self.outputs),
        }

    @classmethod
    def from_json(cls, obj: Any) -> Signature:
        if not isinstance(obj, dict) or not isinstance(obj.get("features"), list):
            raise RecordError("signature must be {'features': [...], 'outputs': [...]}")
        feats = {}
        for f in obj["features"]:
            if not isinstance(f, dict) or "name" not in f:
                raise RecordError(f"signature feature {f!r} has no name")
            feats[f["name"]] = f.get("type", "float")
        return cls.of(feats, outputs=obj.get("outputs") or ())


@dataclass(frozen=True)
class ModelVersion:
    """One version of a model, as the registry records it.

    ``artifact`` says where the bytes are: ``{"inline": base64}`` or
    ``{"topic": ..., "chunks": n}`` (chunk ``i`` keyed ``<name>/<version>/<i>`` on the
    artifact topic). ``sha256`` is the digest of the whole artifact, checked on load.
    Times are seconds since the epoch.
    """

    name: str
    version: int
    format: str
    sha256: str
    size: int
    signature: Signature
    created_at: float
    artifact: Mapping[str, Any]
    profile: Mapping[str, Any] = field(default_factory=dict)
    expires_at: float | None = None
    deleted: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        return f"version/{self.name}/{self.version}".encode()

    def valid_at(self, now: float) -> bool:
        """Not deleted and not expired at ``now``."""
        return not self.deleted and (self.expires_at is None or now < self.expires_at)

    def with_changes(self, **changes: Any) -> ModelVersion:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "version",
            "name": self.name,
            "version": self.version,
            "format": self.format,
            "sha256": self.sha256,
            "size": self.size,
            "signature": self.signature.to_json(),
            "profile": dict(self.profile),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "deleted": self.deleted,
            "metadata": dict(self.metadata),
            "artifact": dict(self.artifact),
        }

    def to_record(self) -> tuple[bytes, bytes]:
        return self.key, orjson.dumps(self.to_json(), option=orjson.OPT_SERIALIZE_NUMPY)


@dataclass(frozen=True)
class Alias:
    """A movable name for one version (``champion``, ``challenger``); ``history`` holds
    the versions it pointed at before, newest last (what :meth:`rollback` returns to)."""

    name: str
    alias: str
    version: int
    history: tuple[int, ...] = ()
    at: float = 0.0

    @property
    def key(self) -> bytes:
        return f"alias/{self.name}/{self.alias}".encode()

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "alias",
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "history": list(self.history),
            "at": self.at,
        }

    def to_record(self) -> tuple[bytes, bytes]:
        return self.key, orjson.dumps(self.to_json())


Record = ModelVersion | Alias


def _need(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise RecordError(
            f"{where}: field {key!r} is missing or not {getattr(kind, '__name__', kind)}"
        )
    return value


def parse_record(key: bytes | None, value: bytes | None) -> Record | None:
    """Validate one control record; ``None`` for a tombstone (nothing to apply).

    Raises :class:`RecordError` naming the key and the first problem found.
    """
    where = f"control record {key!r}"
    if value is None:
        return None
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise RecordError(f"{where}: not JSON") from None
    if not isinstance(obj, dict):
        raise RecordError(f"{where}: not a JSON object")
    kind = obj.get("type")
    if kind == "alias":
        rec: Record = Alias(
            name=check_name(_need(obj, "name", str, where)),
            alias=check_name(_need(obj, "alias", str, where), "alias"),
            version=_need(obj, "version", int, where),
            history=tuple(int(v) for v in obj.get("history") or ()),
            at=float(obj.get("at") or 0.0),
        )
    elif kind == "version":
        fmt = _need(obj, "format", str, where)
        if fmt not in FORMATS:
            raise RecordError(f"{where}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
        sha = _need(obj, "sha256", str, where)
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise RecordError(f"{where}: sha256 must be 64 lowercase hex digits")
        art = _need(obj, "artifact", dict, where)
        if "inline" not in art and not ("topic" in art and isinstance(art.get("chunks"), int)):
            raise RecordError(
                f"{where}: artifact must be {{'inline': ...}} or {{'topic': ..., 'chunks': n}}"
            )
        expires = obj.get("expires_at")
        rec = ModelVersion(
            name=check_name(_need(obj, "name", str, where)),
            version=_need(obj, "version", int, where),
            format=fmt,
            sha256=sha,
            size=_need(obj, "size", int, where),
            signature=Signature.from_json(obj.get("signature")),
            created_at=float(_need(obj, "created_at", (int, float), where)),
            artifact=art,
            profile=obj.get("profile") or {},
            expires_at=float(expires) if expires is not None else None,
            deleted=bool(obj.get("deleted", False)),
            metadata=obj.get("metadata") or {},
        )
    else:
        raise RecordError(f"{where}: 'type' must be 'version' or 'alias', not {kind!r}")
    if rec.version < 1:
        raise RecordError(f"{where}: version must be >= 1")
    if key is not None and key != rec.key:
        raise RecordError(f"{where}: key does not match its content ({rec.key!r})")
    return rec


__all__ = [
    "ARTIFACT_TOPIC",
    "CONTROL_TOPIC",
    "FORMATS",
    "Alias",
    "ModelVersion",
    "Record",
    "RecordError",
    "Signature",
    "check_name",
    "parse_record",
]
