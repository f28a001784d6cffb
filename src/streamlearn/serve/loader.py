"""Loading model versions into scorers: format dispatch, digest check, a session cache.

Every partition's predict step sees the same control records; the :class:`Loader` of
one predict operator is shared by all of them, so an artifact is held once and a
version's session is built once per process, not once per partition. Scorers are cached
by content (format, SHA-256, settings), so a verified artifact is what scores.

Examples
--------
>>> Loader().scorer_for.__name__
'scorer_for'
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from streamlearn.registry.records import ModelVersion, Signature
from streamlearn.registry.store import ChunkCache, artifact_bytes
from streamlearn.serve.errors import ModelLoadError

#: sessions kept per operator (current, previous and a candidate, with room to spare)
MAX_SESSIONS = 4


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
    raise ModelLoadError(f"unknown model format {fmt!r}")


class Loader:
    """Artifacts read so far and the scorers built from them (shared by the partitions
    of one predict operator)."""

    def __init__(self, *, threads: int = 1, trusted: Sequence[str] = ()) -> None:
        self.threads = threads
        self.trusted = tuple(trusted)
        self.chunks = ChunkCache()
        self._scorers: OrderedDict[tuple[str, str], Any] = OrderedDict()

    def scorer_for(self, rec: ModelVersion) -> Any | None:
        """The scorer of ``rec``, or ``None`` while its chunks have not all arrived.

        Raises :class:`ModelLoadError` (or an ``ArtifactError``) when the artifact does
        not match its digest or cannot be loaded."""
        key = (rec.format, rec.sha256)
        scorer = self._scorers.get(key)
        if scorer is not None:
            self._scorers.move_to_end(key)
            if scorer.signature != rec.signature:
                scorer = None  # same bytes, other signature: build and check again
        if scorer is None:
            data = artifact_bytes(rec, self.chunks)
            if data is None:
                return None
            scorer = load_scorer(
                rec.format, data, rec.signature, threads=self.threads, trusted=self.trusted
            )
            self._scorers[key] = scorer
            while len(self._scorers) > MAX_SESSIONS:
                self._scorers.popitem(last=False)
        return scorer


__all__ = ["MAX_SESSIONS", "Loader", "load_scorer"]
