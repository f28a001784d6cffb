"""What a predict operator holds in a run: its models' registry table, the artifact
chunks still to load, and the scorers (format dispatch, digest check).

One :class:`Loader` serves every partition's step of one predict operator **in one
run** (the step takes it from the run's context, :meth:`~streamlearn.core.operator.
Context.shared`), so a version's session is built once per run, not once per partition,
and two runs of the same operator in one process (two pipelines, two threads) never
touch each other's loader. The registry table is the run's too: each control record is
parsed and applied once, not once per partition, and only records of the operator's own
models are kept (an inline artifact of another model is not held at all).

What it holds is only what its step can still need. Artifact chunks are kept for the
versions of the step's own model names (and its pinned version, if any) that are not
loaded yet and still valid; chunks of other models, of deleted or expired versions and
of versions already loaded are dropped or never stored (a replay of the artifact topic
to a newly assigned partition adds nothing back). A loaded version's scorer replaces its
chunks and is kept while the version is valid, so a rollback to it needs no bytes
(dropped bytes cannot be read again without re-reading the topic).

Examples
--------
>>> loader = Loader(["house-price"])
>>> loader.add_chunk(b"other-model/1/0", b"x" * 10)  # not a model of this step
>>> loader.add_chunk(b"house-price/1/0", b"y" * 10)
>>> sorted(loader.chunks.chunks), loader.chunks.nbytes
([b'house-price/1/0'], 10)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from streamlearn.core.errors import ConfigError
from streamlearn.registry.records import (
    Alias,
    ModelVersion,
    RecordError,
    Signature,
    parse_record,
)
from streamlearn.registry.store import ChunkCache, artifact_bytes
from streamlearn.registry.table import RegistryTable
from streamlearn.serve.errors import ModelLoadError

log = logging.getLogger("streamlearn.serve")
ScorerKey = tuple[str, str, Signature]
VersionKey = tuple[str, int]


def load_scorer(
    fmt: str, data: bytes, signature: Signature, *, threads: int = 1, trusted: Sequence[str] = ()
) -> Any:
    """A scorer (``predict(float32 block) -> (prediction, probabilities | None)``) for
    verified artifact bytes; :class:`ModelLoadError` when it cannot be."""
    if fmt == "onnx":
        from streamlearn.serve.onnx import OnnxScorer

        return OnnxScorer(data, signature, threads=threads)
    if fmt == "skops":
        from streamlearn.serve.skops import SkopsScorer

        return SkopsScorer(data, signature, trusted=trusted)
    if fmt == "streamlearn":
        from streamlearn.serve.learner import LearnerScorer

        return LearnerScorer(data, signature)
    if fmt == "river":
        from streamlearn.serve.river import RiverScorer

        return RiverScorer(data, signature)
    raise ModelLoadError(f"unknown model format {fmt!r}")


def chunk_version(key: bytes | None) -> VersionKey | None:
    """``(name, version)`` of an artifact chunk key ``<name>/<version>/<i>``; ``None``
    for a key of another shape.

    >>> chunk_version(b"house-price/3/0")
    ('house-price', 3)
    """
    if key is None:
        return None
    parts = key.split(b"/")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0].decode("utf-8", "replace"), int(parts[1])


class Loader:
    """The artifacts and scorers one predict operator needs in one run.

    ``names`` are the step's model names (``None``: every name); ``version`` a pinned
    version (``None``: any version may be needed, an alias can move to it)."""

    def __init__(
        self,
        names: Iterable[str] | None = None,
        *,
        version: int | None = None,
        threads: int = 1,
        trusted: Sequence[str] = (),
    ) -> None:
        self.names = frozenset(names) if names is not None else None
        self.version = version
        self.threads = threads
        self.trusted = tuple(trusted)
        self.chunks = ChunkCache()
        #: scorers built (sessions created); a reload of a held version does not count
        self.loads = 0
        self._records: dict[VersionKey, ModelVersion] = {}
        self._loaded: dict[VersionKey, ScorerKey] = {}
        self._scorers: dict[ScorerKey, Any] = {}
        self._failed: dict[tuple[str, int, str], str] = {}
        #: versions deleted or expired: their chunks are not kept again (a replay)
        self._dead: set[VersionKey] = set()
        #: the registry as the control topic has it, for this operator's models only
        self.table = RegistryTable()
        self._seen: dict[bytes, tuple[int, int]] = {}

    def control(self, key: bytes | None, value: bytes | None, now: float) -> bool:
        """One control record into the run's table (``False``: not valid). Every
        partition's step hands the same records in; each is parsed and applied once,
        and records of other models are not kept (nor their inline artifacts)."""
        if key is not None and value is not None:
            mark = (len(value), hash(value))
            if self._seen.get(key) == mark:
                return True  # applied already, from another partition's step
            self._seen[key] = mark
        try:
            rec = parse_record(key, value)
        except RecordError as exc:
            log.warning("skipped %s", exc)
            self.table.invalid.append((key, str(exc)))
            return False
        if isinstance(rec, ModelVersion) and self.wants(rec.name, rec.version):
            self.table.apply(rec)
            self.note(rec, now)
        elif isinstance(rec, Alias) and (self.names is None or rec.name in self.names):
            self.table.apply(rec)
        return True

    def wants(self, name: str, version: int) -> bool:
        """Whether the step could score with this version (its names, its pin)."""
        return (self.names is None or name in self.names) and (
            self.version is None or version == self.version
        )

    def add_chunk(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the artifact topic: kept only when its version may still load."""
        which = chunk_version(key)
        if which is None or not self.wants(*which):
            return
        if value is not None and (which in self._loaded or which in self._dead):
            return  # loaded already (a replay), or deleted or expired: not needed
        self.chunks.add(key, value)

    def note(self, rec: ModelVersion, now: float) -> None:
        """A version record as the control topic has it now (expired or deleted ones
        let go of their chunks and scorer)."""
        which = (rec.name, rec.version)
        if not self.wants(*which):
            return
        self._records[which] = rec
        self._dead.discard(which)
        held = self._loaded.get(which)
        if held is not None and held != (rec.format, rec.sha256, rec.signature):
            self._forget(which, now)
        if not rec.valid_at(now):
            self._forget(which, now)

    def prune(self, now: float) -> None:
        """Let go of what versions that have expired by ``now`` held."""
        for which, rec in list(self._records.items()):
            if not rec.valid_at(now) and which not in self._dead:
                self._forget(which, now)

    def _forget(self, which: VersionKey, now: float | None = None) -> None:
        rec = self._records.get(which)
        if rec is not None and not rec.valid_at(time.time() if now is None else now):
            self._dead.add(which)
        self.chunks.drop(*which)
        key = self._loaded.pop(which, None)
        if key is not None and key not in self._loaded.values():
            self._scorers.pop(key, None)

    def scorer_for(self, rec: ModelVersion) -> Any | None:
        """The scorer of ``rec``, or ``None`` while its chunks have not all arrived.

        Raises :class:`ModelLoadError` (or an ``ArtifactError``) when the artifact does
        not match its digest or cannot be loaded (again on every later call: its chunks
        are let go of at the first failure)."""
        which = (rec.name, rec.version)
        failed = self._failed.get((rec.name, rec.version, rec.sha256))
        if failed is not None:
            raise ModelLoadError(failed)
        key = (rec.format, rec.sha256, rec.signature)
        scorer = self._scorers.get(key)
        if scorer is None:
            try:
                data = artifact_bytes(rec, self.chunks)
                if data is None:
                    return None
                scorer = load_scorer(
                    rec.format, data, rec.signature, threads=self.threads, trusted=self.trusted
                )
            except ConfigError as exc:  # ModelLoadError, ArtifactError (digest, chunks)
                self._failed[(rec.name, rec.version, rec.sha256)] = str(exc)
                self.chunks.drop(*which)
                raise
            except Exception as exc:
                self._failed[(rec.name, rec.version, rec.sha256)] = str(exc)
                self.chunks.drop(*which)
                raise ModelLoadError(str(exc)) from None
            self._scorers[key] = scorer
            self.loads += 1
        if self.wants(*which):
            self._records.setdefault(which, rec)
            self._loaded[which] = key
        self.chunks.drop(*which)  # the scorer holds the model now
        return scorer

    @property
    def held_versions(self) -> list[VersionKey]:
        """The versions whose scorer is held, sorted."""
        return sorted(self._loaded)


__all__ = ["Loader", "chunk_version", "load_scorer"]
