"""Model artifacts: inline in the control record, or in chunks on an artifact topic.

A Kafka record is limited in size (``message.max.bytes``, 1 MB by default), a model is
not. An artifact up to :data:`INLINE_MAX` bytes travels base64-encoded inside its control
record; a larger one is cut into :data:`CHUNK_BYTES` pieces produced to the artifact
topic, keyed ``<name>/<version>/<i>``, *before* the control record that names them, and
reassembled by readers. Either way the bytes are checked against the record's SHA-256
before anything loads them: a flipped bit is an :class:`ArtifactError`, never a model.

Examples
--------
>>> art, chunks = plan_artifact("m", 1, b"x" * 10, topic="_sl_model_artifacts")
>>> sorted(art), chunks
(['inline'], [])
>>> art, chunks = plan_artifact("m", 2, b"y" * 25, topic="arts", inline_max=8, chunk_bytes=10)
>>> art, [k for k, _ in chunks]
({'topic': 'arts', 'chunks': 3, 'chunk_bytes': 10}, [b'm/2/0', b'm/2/1', b'm/2/2'])
>>> cache = ChunkCache()
>>> for k, v in chunks:
...     cache.add(k, v)
>>> cache.assemble("m", 2, 3) == b"y" * 25
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections.abc import Mapping
from typing import Any

from streamlearn.core.errors import ConfigError
from streamlearn.registry.records import ModelVersion, Signature

#: largest artifact kept inside its control record (base64 makes it ~853 kB)
INLINE_MAX = 640_000
#: size of one chunk on the artifact topic (under the 1 MB default record limit)
CHUNK_BYTES = 900_000
#: the largest artifact a push accepts unless told otherwise
MAX_ARTIFACT_BYTES = 64 * 2**20


class ArtifactError(ConfigError):
    """An artifact is missing, incomplete, or does not match its digest."""


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 of ``data`` (what a model record carries).

    >>> sha256_hex(b"")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(data).hexdigest()


def plan_artifact(
    name: str,
    version: int,
    data: bytes,
    *,
    topic: str,
    inline_max: int = INLINE_MAX,
    chunk_bytes: int = CHUNK_BYTES,
    max_bytes: int = MAX_ARTIFACT_BYTES,
) -> tuple[dict[str, Any], list[tuple[bytes, bytes]]]:
    """Where the artifact goes: the record's ``artifact`` field and the chunk records to
    produce first (none when inline). Refuses artifacts over ``max_bytes``."""
    if len(data) > max_bytes:
        raise ArtifactError(
            f"model artifact is {len(data) / 1e6:.1f} MB, over the limit "
            f"of {max_bytes / 1e6:.1f} MB (raise max_bytes= to push it; it "
            f"would travel as {-(-len(data) // chunk_bytes)} chunks)"
        )
    if len(data) <= inline_max:
        return {"inline": base64.b64encode(data).decode()}, []
    chunks = [
        (f"{name}/{version}/{i}".encode(), data[at : at + chunk_bytes])
        for i, at in enumerate(range(0, len(data), chunk_bytes))
    ]
    return {"topic": topic, "chunks": len(chunks), "chunk_bytes": chunk_bytes}, chunks


def make_version(
    name: str,
    version: int,
    fmt: str,
    data: bytes,
    signature: Signature,
    *,
    artifact_topic: str,
    profile: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    expires_at: float | None = None,
    created_at: float | None = None,
    max_bytes: int = MAX_ARTIFACT_BYTES,
) -> tuple[ModelVersion, list[tuple[bytes, bytes]]]:
    """The record of version ``version`` of ``name`` and the artifact chunks to produce
    before it (none when inline): what a push writes, for whoever writes it (the
    :class:`~streamlearn.registry.control.Registry` client, or the runtime on behalf of
    a pipeline that publishes its model).

    >>> from streamlearn.registry.records import Signature
    >>> rec, chunks = make_version("m", 3, "onnx", b"abc", Signature.of(["x"]),
    ...                            artifact_topic="arts", created_at=0.0)
    >>> rec.key, rec.size, chunks
    (b'version/m/3', 3, [])
    """
    art, chunks = plan_artifact(name, version, data, topic=artifact_topic, max_bytes=max_bytes)
    rec = ModelVersion(
        name=name,
        version=version,
        format=fmt,
        sha256=sha256_hex(data),
        size=len(data),
        signature=signature,
        created_at=time.time() if created_at is None else created_at,
        artifact=art,
        profile=dict(profile or {}),
        expires_at=expires_at,
        metadata=dict(metadata or {}),
    )
    return rec, chunks


def chunk_prefix(name: str, version: int) -> bytes:
    return f"{name}/{version}/".encode()


class ChunkCache:
    """Chunks read from the artifact topic, by key, until their artifact is loaded.

    Last value per key wins (a re-pushed chunk replaces the old one); a tombstone removes.
    """

    def __init__(self) -> None:
        self.chunks: dict[bytes, bytes] = {}

    def add(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self.chunks.pop(key, None)
        else:
            self.chunks[key] = value

    def assemble(self, name: str, version: int, count: int) -> bytes | None:
        """The artifact's bytes, or ``None`` while some chunk has not arrived yet."""
        prefix = chunk_prefix(name, version)
        parts = [self.chunks.get(prefix + str(i).encode()) for i in range(count)]
        if any(p is None for p in parts):
            return None
        return b"".join(parts)  # type: ignore[arg-type]

    def drop(self, name: str, version: int) -> None:
        prefix = chunk_prefix(name, version)
        for key in [k for k in self.chunks if k.startswith(prefix)]:
            del self.chunks[key]

    @property
    def nbytes(self) -> int:
        return sum(len(v) for v in self.chunks.values())


def artifact_bytes(rec: ModelVersion, cache: ChunkCache | None = None) -> bytes | None:
    """The verified bytes of ``rec``'s artifact; ``None`` while chunks are still missing.

    Raises :class:`ArtifactError` when the bytes do not match the recorded digest/size.
    """
    art = rec.artifact
    data: bytes | None
    if "inline" in art:
        try:
            data = base64.b64decode(art["inline"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ArtifactError(
                f"{rec.name} v{rec.version}: inline artifact is not base64"
            ) from None
    else:
        data = (
            cache.assemble(rec.name, rec.version, int(art["chunks"])) if cache is not None else None
        )
        if data is None:
            return None
    verify(rec, data)
    return data


def verify(rec: ModelVersion, data: bytes) -> None:
    """Check size and SHA-256 of ``data`` against the record."""
    digest = sha256_hex(data)
    if digest != rec.sha256:
        raise ArtifactError(
            f"{rec.name} v{rec.version}: artifact digest mismatch "
            f"(sha256 {digest[:12]}..., record says {rec.sha256[:12]}...)"
        )
    if len(data) != rec.size:
        raise ArtifactError(
            f"{rec.name} v{rec.version}: artifact is {len(data)} bytes, record says {rec.size}"
        )


__all__ = [
    "CHUNK_BYTES",
    "INLINE_MAX",
    "MAX_ARTIFACT_BYTES",
    "ArtifactError",
    "ChunkCache",
    "artifact_bytes",
    "chunk_prefix",
    "make_version",
    "plan_artifact",
    "sha256_hex",
    "verify",
]
