"""The running logic of ``sl.ml.predict`` for one partition: which version scores, the
switch between two batches, the scoring itself, A/B routing and several models.

A *variant* is one alias (or pinned version) of one model with what it has loaded; the
step has one per model (several models), one per alias of a split, and one for the
shadow. The registry table (the run's, kept by the :class:`~streamlearn.serve.loader.
Loader` that every partition's step of the operator shares) is consulted again before
a batch when a control record arrived or a version in use has reached its expiry; each
variant then switches on its own.

Examples
--------
>>> import streamlearn as sl
>>> step = sl.ml.predict(["a", "b"]).build()
>>> [v.model for v in step.variants]
['a', 'b']
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Step
from streamlearn.registry.records import ModelVersion
from streamlearn.serve.errors import ModelLoadError
from streamlearn.serve.evaluate import Evaluation
from streamlearn.serve.loader import Loader
from streamlearn.serve.predict import NO_MODEL, VERSION_HEADER, Binding, Predict

log = logging.getLogger("streamlearn.serve")


class Variant:
    """One alias (or pinned version) of one model, and what it has loaded."""

    def __init__(self, label: str, binding: Binding, alias: str | None, version: int | None):
        self.label, self.binding, self.alias, self.version = label, binding, alias, version
        self.model = binding.model
        self.current: ModelVersion | None = None
        self.scorer: Any = None
        self.columns: list[str] = []


class PredictStep(Step):
    def __init__(self, spec: Predict) -> None:
        self.spec = spec
        self._loader: Loader | None = None  # the run's, from the context (first batch)
        first = spec.bindings[0]
        if spec.split is not None:
            self.variants = [Variant(a, first, a, None) for a in spec.split]
            weights = np.array(list(spec.split.values()), dtype=np.float64)
            self._edges = np.cumsum(weights / weights.sum())[:-1]
        else:
            label = spec.alias if spec.version is None else f"v{spec.version}"
            self.variants = [
                Variant(str(label), b, spec.alias, spec.version) for b in spec.bindings
            ]
        self.shadow = Variant(spec.shadow, first, spec.shadow, None) if spec.shadow else None
        self.evaluation = Evaluation(self)
        self._changed = True
        self._reported: set[tuple[str, int, str]] = set()

    @property
    def current(self) -> ModelVersion | None:
        """The version of the (first) variant: what scores when there is no split."""
        return self.variants[0].current

    def _all(self) -> list[Variant]:
        return [*self.variants, *([self.shadow] if self.shadow is not None else [])]

    # -- state --------------------------------------------------------------------------
    def snapshot(self) -> bytes | None:
        """The evaluation's figures (shadow agreement, label metrics) when the step
        measures any; plain serving keeps no state (its operator is not stateful)."""
        return self.evaluation.snapshot() if self.spec.stateful else None

    def restore(self, blob: bytes) -> None:
        self.evaluation.restore(blob)

    # -- the registry ---------------------------------------------------------------------
    def loader(self, ctx: Context) -> Loader:
        """The loader every partition's step of this operator shares in this run."""
        if self._loader is None:
            self._loader = ctx.shared(f"ml.predict/{self.name}", self.spec.loader)
        return self._loader

    def process_side(self, port: str, batch: Batch, ctx: Context) -> Batch | None:
        loader = self.loader(ctx)
        keys = batch.data["key"].to_list()
        values = batch.data["value"].to_list()
        if port == "artifacts":
            for k, v in zip(keys, values, strict=True):
                loader.add_chunk(k, v)
        else:
            now = ctx.wall_time()
            for k, v in zip(keys, values, strict=True):
                if not loader.control(k, v, now):  # counted once per run, not per partition
                    _count(ctx, f"{self.name}.invalid_control_records")
        self._changed = True
        return None

    def _refresh(self, var: Variant, columns: list[str], ctx: Context, now: float) -> None:
        table = self.loader(ctx).table
        target = table.resolve(var.model, alias=var.alias, version=var.version, now=now)
        cur = var.current
        if (
            target is not None
            and cur is not None
            and target.version == cur.version
            and target.sha256 == cur.sha256
        ):
            var.current = target  # same model; its record (expiry) may have changed
            return
        if target is not None and (target.name, target.version, target.sha256) in self._reported:
            target = None  # refused before: not tried again (a new push is a new version)
        if target is not None:
            try:
                scorer = self.loader(ctx).scorer_for(target)
                if scorer is None:  # chunks still on their way: keep going, retry later
                    self._changed = True
                else:
                    self._switch(var, target, scorer, self._columns_for(target, columns), ctx)
                    return
            except (ModelLoadError, ConfigError) as exc:
                self._report(target, str(exc), ctx)
        # the new one is not ready or failed: the old one keeps scoring while it is valid
        if cur is not None:
            latest = table.get(cur.name, cur.version)
            if latest is None or not latest.valid_at(now):
                log.warning(
                    "%s: %s v%d is no longer valid and nothing can replace it",
                    self.name,
                    cur.name,
                    cur.version,
                )
                var.current, var.scorer = None, None
            else:
                var.current = latest

    def _columns_for(self, rec: ModelVersion, columns: list[str]) -> list[str]:
        names = list(rec.signature.names)
        wanted = self.spec.features
        if wanted is not None and sorted(wanted) != sorted(names):
            raise ModelLoadError(
                f"{rec.name} v{rec.version} takes features {names}, the step feeds {list(wanted)}"
            )
        missing = [c for c in names if c not in columns]
        if missing:
            raise ModelLoadError(
                f"{rec.name} v{rec.version} needs columns {missing} that the stream does not have"
            )
        return names

    def _suffix(self, var: Variant) -> str:
        if var is self.shadow:
            return ".shadow"
        if self.spec.split is not None:
            return f".{var.label}"
        return f".{var.model}" if len(self.variants) > 1 else ""

    def _scope(self, var: Variant) -> str:
        # counters of the shadow and of each of several models apart; a split's together
        if var is self.shadow:
            return ".shadow"
        return f".{var.model}" if self.spec.split is None and len(self.variants) > 1 else ""

    def _switch(
        self, var: Variant, rec: ModelVersion, scorer: Any, columns: list[str], ctx: Context
    ) -> None:
        old = var.current
        var.current, var.scorer, var.columns = rec, scorer, columns
        _count(ctx, f"{self.name}.swaps")
        ctx.metrics[f"{self.name}.version{self._suffix(var)}"] = rec.version
        log.info(
            "%s: %s%s now scored by v%d (was %s)",
            self.name,
            rec.name,
            " (shadow)" if var is self.shadow else "",
            rec.version,
            f"v{old.version}" if old is not None else "nothing",
        )

    def _report(self, rec: ModelVersion, reason: str, ctx: Context) -> None:
        _count(ctx, f"{self.name}.load_errors")
        ctx.metrics[f"{self.name}.last_load_error"] = reason
        if (rec.name, rec.version, rec.sha256) not in self._reported:
            self._reported.add((rec.name, rec.version, rec.sha256))
            log.error("%s: cannot switch to %s v%d: %s", self.name, rec.name, rec.version, reason)

    # -- scoring --------------------------------------------------------------------------
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        now = ctx.wall_time()
        expired = any(
            v.current is not None
            and v.current.expires_at is not None
            and now >= v.current.expires_at
            for v in self._all()
        )
        if self._changed or expired:
            self._changed = False
            loader = self.loader(ctx)
            loader.prune(now)
            for var in self._all():
                self._refresh(var, batch.data.columns, ctx, now)
            ctx.metrics[f"{self.name}.artifact_bytes_held"] = loader.chunks.nbytes
            ctx.metrics[f"{self.name}.model_loads"] = loader.loads
        for b in self.spec.bindings:  # the sinks write each version column as a header
            ctx.record_headers[b.version_column] = (VERSION_HEADER, f"{b.model}:")
        out: Batch | None = batch
        if self.spec.split is not None:
            out = self._split(batch, ctx)
        else:
            for var in self.variants:  # several models: each adds its columns
                if out is not None:
                    out = self.score(var, out, ctx)
        if out is not None:
            self.evaluation.observe(batch, out, ctx)
        return out

    def _split(self, batch: Batch, ctx: Context) -> Batch | None:
        which = self._route(batch)
        parts, kept = [], []
        for i, var in enumerate(self.variants):
            rows = np.flatnonzero(which == i)
            if not len(rows):
                continue
            _count(ctx, f"{self.name}.variant.{var.label}", len(rows))
            scored = self.score(var, batch.take(rows), ctx)
            if scored is not None:
                parts.append(
                    scored.data.with_columns(pl.lit(var.label).alias(self.spec.variant_column))
                )
                kept.append(rows)
        if not parts:
            return None
        # back in input order: records of one partition stay in offset order
        positions = np.concatenate(kept)
        order = np.argsort(positions, kind="stable")
        frame = pl.concat(parts, how="vertical_relaxed")[pl.Series(order)]
        return batch.take(positions[order]).with_data(frame)

    def _route(self, batch: Batch) -> np.ndarray:
        """The variant of each row, from a stable hash of its key, partition or column."""
        by, n = self.spec.by, batch.height
        if by == "partition":
            part = batch.origin.partition if batch.origin is not None else 0
            hashes = np.full(n, zlib.crc32(str(part).encode()), dtype=np.float64)
        else:
            if by == "key":
                record_keys = batch.keys()  # a record without a key hashes as b""
                raw: list[bytes] = [k or b"" for k in record_keys]
            elif by in batch.data.columns:
                text = batch.data[by].cast(pl.String).fill_null("").to_list()
                raw = list(map(str.encode, text))
            else:
                raise ConfigError(f"{self.name}: split by {by!r}: no such column")
            hashes = np.fromiter(map(zlib.crc32, raw), dtype=np.float64, count=n)
        return np.searchsorted(self._edges, hashes / 2.0**32, side="right")

    def score(
        self, var: Variant, batch: Batch, ctx: Context, *, dead_letter: bool = True
    ) -> Batch | None:
        """``batch`` with ``var``'s prediction and version columns; ``None`` when it has
        no valid version or lacks features (the rows then go to the dead-letter topic,
        unless ``dead_letter`` is off: the shadow's rows are never dead-lettered)."""
        cur = var.current
        if cur is None:
            if dead_letter:
                ctx.dead_letter(batch, NO_MODEL, self.name)
            return None
        df = batch.data
        missing = [c for c in var.columns if c not in df.columns]
        if missing:
            if dead_letter:
                ctx.dead_letter(batch, f"missing feature columns {missing}", self.name)
            return None
        X = np.ascontiguousarray(
            df.select(pl.col(c).cast(pl.Float32) for c in var.columns)
            .fill_null(float("nan"))
            .to_numpy(),
            dtype=np.float32,
        )
        pred, proba = var.scorer.predict(X)
        b = var.binding
        out = [
            pl.Series(b.output, pred),
            pl.Series(b.version_column, np.full(len(pred), cur.version, np.int32)),
        ]
        if self.spec.probabilities and proba is not None:
            out += [pl.Series(f"{b.output}_proba_{i}", proba[:, i]) for i in range(proba.shape[1])]
        _count(ctx, f"{self.name}{self._scope(var)}.scored.v{cur.version}", len(pred))
        return batch.with_data(df.with_columns(out))


def _count(ctx: Context, key: str, n: int = 1) -> None:
    ctx.metrics[key] = ctx.metrics.get(key, 0) + n


__all__ = ["PredictStep", "Variant"]
