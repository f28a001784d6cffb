"""The registry as a table: the control topic's records applied in order.

Every reader of the control topic (the CLI, :class:`~streamlearn.registry.control.Registry`,
each serving step) builds the same :class:`RegistryTable` from the same records, so they
all agree on what ``house-price@champion`` means. Reading "the last value per key wins"
makes it right on a compacted topic and on a broker that never compacts (Tansu).

Examples
--------
>>> from streamlearn.registry.records import Alias, ModelVersion, Signature
>>> t = RegistryTable()
>>> v = ModelVersion(name="m", version=1, format="onnx", sha256="0" * 64, size=1,
...                  signature=Signature.of(["x"]), created_at=0.0, artifact={"inline": ""})
>>> t.apply(v); t.apply(Alias(name="m", alias="champion", version=1))
>>> t.resolve("m", alias="champion", now=1.0).version
1
>>> t.apply(v.with_changes(expires_at=5.0))
>>> t.resolve("m", alias="champion", now=6.0) is None
True
"""

from __future__ import annotations

import logging

from streamlearn.registry.records import Alias, ModelVersion, Record, RecordError, parse_record

log = logging.getLogger("streamlearn.registry")


class RegistryTable:
    """Model versions and aliases by name, as the control records left them."""

    def __init__(self) -> None:
        self.versions: dict[str, dict[int, ModelVersion]] = {}
        self.aliases: dict[str, dict[str, Alias]] = {}
        #: control records that were not valid (kept for reports: key and reason)
        self.invalid: list[tuple[bytes | None, str]] = []

    def apply(self, record: Record | None) -> None:
        """Apply one parsed record (``None``, a tombstone, changes nothing)."""
        if isinstance(record, ModelVersion):
            self.versions.setdefault(record.name, {})[record.version] = record
        elif isinstance(record, Alias):
            self.aliases.setdefault(record.name, {})[record.alias] = record

    def apply_raw(self, key: bytes | None, value: bytes | None) -> Record | None:
        """Parse and apply one record as read from the topic; an invalid one is logged,
        remembered in :attr:`invalid` and skipped."""
        try:
            rec = parse_record(key, value)
        except RecordError as exc:
            log.warning("skipped %s", exc)
            self.invalid.append((key, str(exc)))
            return None
        self.apply(rec)
        return rec

    # -- questions ----------------------------------------------------------------------
    def names(self) -> list[str]:
        return sorted(set(self.versions) | set(self.aliases))

    def get(self, name: str, version: int) -> ModelVersion | None:
        return self.versions.get(name, {}).get(version)

    def last_version(self, name: str) -> int:
        """The highest version ever assigned to ``name`` (deleted ones count: numbers are
        never reused); 0 when there is none."""
        return max(self.versions.get(name, {}), default=0)

    def alias(self, name: str, alias: str) -> Alias | None:
        return self.aliases.get(name, {}).get(alias)

    def moved(self, name: str, alias: str, version: int, at: float) -> Alias:
        """The record that points ``alias`` at ``version``, the version it leaves kept in
        its history for rollback (the last 20)."""
        cur = self.alias(name, alias)
        history = () if cur is None else (*cur.history, cur.version)
        if cur is not None and cur.version == version:
            history = cur.history
        return Alias(name, alias, version, tuple(history[-20:]), at)

    def aliases_of(self, name: str, version: int) -> list[str]:
        return sorted(a for a, rec in self.aliases.get(name, {}).items() if rec.version == version)

    def resolve(
        self, name: str, *, alias: str | None = "champion", version: int | None = None, now: float
    ) -> ModelVersion | None:
        """The version that should score now, or ``None`` when no valid version is left.

        A pinned ``version`` is used while it is valid. An alias gives its version; when
        that one expired or was deleted, the alias falls back to the newest still-valid
        version it pointed at before (expiry is a scheduled rollback), never to a version
        the alias never had.
        """
        if version is not None:
            v = self.get(name, version)
            return v if v is not None and v.valid_at(now) else None
        rec = self.alias(name, alias or "champion")
        if rec is None:
            return None
        for candidate in (rec.version, *reversed(rec.history)):
            v = self.get(name, candidate)
            if v is not None and v.valid_at(now):
                return v
        return None


__all__ = ["RegistryTable"]
