"""``sl.ml.predict``: score a stream with a model from the registry, swapped at run time.

The step reads the registry's control topic (and its artifact topic) as broadcast side
inputs: every instance reads them in full before its first batch, then between batches.
Before each batch it asks its table which version should score (the alias, ``champion``
by default, or a pinned ``version=``); when that changed, the new version is loaded,
verified (SHA-256, format, signature against the stream's columns) and only then
switched in. A batch is scored whole by one version, so every record is scored exactly
once, by the old or the new one, and carries the version in ``model_version``. A failed
load is logged and counted in the run's metrics (``<step>.load_errors``); the version
that was scoring keeps scoring while it is valid. With no valid version (never pushed,
expired, deleted), the records go to the dead-letter topic with the reason ``no model``,
never on unscored.

Examples
--------
>>> import streamlearn as sl
>>> op = sl.ml.predict("house-price", features=["rooms", "area"], output="price")
>>> op.kind, op.alias, [s.port for s in op.inputs()]
('ml.predict', 'champion', ['control', 'artifacts'])
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, OutputTopic, SideInput, Step
from streamlearn.registry.records import ARTIFACT_TOPIC, CONTROL_TOPIC, ModelVersion, check_name
from streamlearn.registry.table import RegistryTable
from streamlearn.serve.errors import ModelLoadError
from streamlearn.serve.loader import Loader

log = logging.getLogger("streamlearn.serve")
#: the dead-letter reason of records that no valid model version could score
NO_MODEL = "no model"


@dataclass(frozen=True)
class Predict(Operator):
    """Add a model's predictions as the column ``output``; see the module docstring.

    Parameters
    ----------
    model
        Registry name of the model.
    features
        Stream columns to feed, in any order (the block is built in the signature's
        order); default: the signature's feature names. A version whose signature names
        other features is refused.
    output
        Column of the predictions.
    alias, version
        What to score with: the alias (default ``champion``), or a pinned version.
    version_column
        Column carrying the version that scored each row.
    probabilities
        Classifiers: also add ``<output>_proba_<i>`` columns.
    threads
        ONNX Runtime intra-op threads per session.
    trusted
        Extra type names trusted when loading skops files.
    topic, artifact_topic
        The registry's control and artifact topics.
    split, by, variant_column
        A/B test: ``{"champion": 0.9, "challenger": 0.1}`` scores each record with one of
        these aliases, chosen by a stable hash (CRC-32) of ``by``: the record key
        (default), ``"partition"``, or a column name. The same key always meets the same
        variant, on every instance and after every restart. Each row carries its variant
        in ``variant_column``; per-variant counts go to the run's metrics
        (``<step>.variant.<alias>``).
    """

    model: str = ""
    features: tuple[str, ...] | None = None
    output: str = "prediction"
    alias: str | None = "champion"
    version: int | None = None
    version_column: str = "model_version"
    probabilities: bool = False
    threads: int = 1
    trusted: tuple[str, ...] = ()
    topic: str = CONTROL_TOPIC
    artifact_topic: str = ARTIFACT_TOPIC
    split: Mapping[str, float] | None = None
    by: str = "key"
    variant_column: str = "model_variant"
    kind: str = field(default="ml.predict", init=False, repr=False)
    _loader: Loader = field(default=None, init=False, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        check_name(self.model)
        if self.version is not None and (not isinstance(self.version, int) or self.version < 1):
            raise ConfigError(f"predict({self.model!r}): version must be an integer >= 1")
        if self.version is not None and self.alias not in (None, "champion"):
            raise ConfigError(f"predict({self.model!r}): give alias= or version=, not both")
        if self.threads < 1:
            raise ConfigError(f"predict({self.model!r}): threads must be >= 1")
        if self.split is not None:
            split = dict(self.split)
            if len(split) < 2 or not all(isinstance(a, str) and a for a in split):
                raise ConfigError(f"predict({self.model!r}): split needs two or more aliases")
            if not all(isinstance(w, (int, float)) and w > 0 for w in split.values()):
                raise ConfigError(f"predict({self.model!r}): split weights must be > 0")
            if self.version is not None:
                raise ConfigError(f"predict({self.model!r}): give split= or version=, not both")
            if not self.by:
                raise ConfigError(
                    f"predict({self.model!r}): by= must name the key, 'partition' or a column"
                )
            object.__setattr__(self, "split", split)
        # shared by every partition's step of this operator: one copy of each artifact
        object.__setattr__(self, "_loader", Loader(threads=self.threads, trusted=self.trusted))

    def inputs(self) -> tuple[SideInput, ...]:
        from streamlearn import decode, read

        return (
            SideInput("control", read.from_kafka(self.topic) | decode.raw(), mode="broadcast"),
            SideInput(
                "artifacts", read.from_kafka(self.artifact_topic) | decode.raw(), mode="broadcast"
            ),
        )

    def outputs(self) -> tuple[OutputTopic, ...]:
        compact = {"cleanup.policy": "compact"}
        return (OutputTopic(self.topic, 1, compact), OutputTopic(self.artifact_topic, 1, compact))

    def build(self) -> Step:
        return _PredictStep(self)


class _Variant:
    """One alias (or pinned version) the step scores with, and what it has loaded."""

    def __init__(self, label: str, alias: str | None, version: int | None) -> None:
        self.label, self.alias, self.version = label, alias, version
        self.current: ModelVersion | None = None
        self.scorer: Any = None
        self.columns: list[str] = []


class _PredictStep(Step):
    def __init__(self, spec: Predict) -> None:
        self.spec = spec
        self.loader = spec._loader
        self.table = RegistryTable()
        if spec.split is not None:
            self.variants = [_Variant(a, a, None) for a in spec.split]
            weights = np.array(list(spec.split.values()), dtype=np.float64)
            self._edges = np.cumsum(weights / weights.sum())[:-1]
        else:
            label = spec.alias if spec.version is None else f"v{spec.version}"
            self.variants = [_Variant(str(label), spec.alias, spec.version)]
        self._changed = True
        self._reported: set[tuple[int, str]] = set()

    @property
    def current(self) -> ModelVersion | None:
        """The version of the (first) variant: what scores when there is no split."""
        return self.variants[0].current

    # -- the registry ---------------------------------------------------------------------
    def process_side(self, port: str, batch: Batch, ctx: Context) -> Batch | None:
        keys = batch.data["key"].to_list()
        values = batch.data["value"].to_list()
        if port == "artifacts":
            for k, v in zip(keys, values, strict=True):
                self.loader.chunks.add(k, v)
        else:
            for k, v in zip(keys, values, strict=True):
                if self.table.apply_raw(k, v) is None and v is not None:
                    _count(ctx, f"{self.name}.invalid_control_records")
        self._changed = True
        return None

    def _refresh(self, var: _Variant, columns: list[str], ctx: Context, now: float) -> None:
        spec = self.spec
        target = self.table.resolve(spec.model, alias=var.alias, version=var.version, now=now)
        cur = var.current
        if (
            target is not None
            and cur is not None
            and target.version == cur.version
            and target.sha256 == cur.sha256
        ):
            var.current = target  # same model; its record (expiry) may have changed
            return
        if target is not None and (target.version, target.sha256) in self._reported:
            target = None  # refused before: not tried again (a new push is a new version)
        if target is not None:
            try:
                scorer = self.loader.scorer_for(target)
                if scorer is None:  # chunks still on their way: keep going, retry later
                    self._changed = True
                else:
                    self._switch(var, target, scorer, self._columns_for(target, columns), ctx)
                    return
            except (ModelLoadError, ConfigError) as exc:
                self._report(target, str(exc), ctx)
        # the new one is not ready or failed: the old one keeps scoring while it is valid
        if cur is not None:
            latest = self.table.get(cur.name, cur.version)
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

    def _switch(
        self, var: _Variant, rec: ModelVersion, scorer: Any, columns: list[str], ctx: Context
    ) -> None:
        old = var.current
        var.current, var.scorer, var.columns = rec, scorer, columns
        _count(ctx, f"{self.name}.swaps")
        suffix = "" if self.spec.split is None else f".{var.label}"
        ctx.metrics[f"{self.name}.version{suffix}"] = rec.version
        log.info(
            "%s: %s now scored by v%d (was %s)",
            self.name,
            rec.name,
            rec.version,
            f"v{old.version}" if old is not None else "nothing",
        )

    def _report(self, rec: ModelVersion, reason: str, ctx: Context) -> None:
        _count(ctx, f"{self.name}.load_errors")
        ctx.metrics[f"{self.name}.last_load_error"] = reason
        if (rec.version, rec.sha256) not in self._reported:
            self._reported.add((rec.version, rec.sha256))
            log.error("%s: cannot switch to %s v%d: %s", self.name, rec.name, rec.version, reason)

    # -- scoring --------------------------------------------------------------------------
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        now = ctx.wall_time()
        expired = any(
            v.current is not None
            and v.current.expires_at is not None
            and now >= v.current.expires_at
            for v in self.variants
        )
        if self._changed or expired:
            self._changed = False
            for var in self.variants:
                self._refresh(var, batch.data.columns, ctx, now)
        if len(self.variants) == 1:
            return self._score(self.variants[0], batch, ctx)
        which = self._route(batch)
        parts, kept = [], []
        for i, var in enumerate(self.variants):
            rows = np.flatnonzero(which == i)
            if not len(rows):
                continue
            _count(ctx, f"{self.name}.variant.{var.label}", len(rows))
            scored = self._score(var, batch.take(rows), ctx)
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

    def _score(self, var: _Variant, batch: Batch, ctx: Context) -> Batch | None:
        cur = var.current
        if cur is None:
            ctx.dead_letter(batch, NO_MODEL, self.name)
            return None
        df = batch.data
        missing = [c for c in var.columns if c not in df.columns]
        if missing:
            ctx.dead_letter(batch, f"missing feature columns {missing}", self.name)
            return None
        X = np.ascontiguousarray(
            df.select(pl.col(c).cast(pl.Float32) for c in var.columns)
            .fill_null(float("nan"))
            .to_numpy(),
            dtype=np.float32,
        )
        pred, proba = var.scorer.predict(X)
        out = [
            pl.Series(self.spec.output, pred),
            pl.Series(self.spec.version_column, np.full(len(pred), cur.version, np.int32)),
        ]
        if self.spec.probabilities and proba is not None:
            out += [
                pl.Series(f"{self.spec.output}_proba_{i}", proba[:, i])
                for i in range(proba.shape[1])
            ]
        _count(ctx, f"{self.name}.scored.v{cur.version}", len(pred))
        return batch.with_data(df.with_columns(out))


def _count(ctx: Context, key: str, n: int = 1) -> None:
    ctx.metrics[key] = ctx.metrics.get(key, 0) + n


def predict(
    model: str,
    *,
    features: Sequence[str] | None = None,
    output: str = "prediction",
    alias: str | None = "champion",
    version: int | None = None,
    split: Mapping[str, float] | None = None,
    by: str = "key",
    name: str | None = None,
    **kwargs: Any,
) -> Predict:
    """Score the stream with a registry model; see :class:`Predict`.

    Examples
    --------
    >>> import streamlearn as sl
    >>> sl.ml.predict("house-price", version=3).version
    3
    >>> sl.ml.predict("house-price", split={"champion": 0.9, "challenger": 0.1}).split
    {'champion': 0.9, 'challenger': 0.1}

    On Kafka (the registry filled with ``sl.registry.push``)::

        sl.run(sl.read.from_kafka("houses") | sl.decode.json(schema)
               | sl.ml.predict("house-price", features=["rooms", "area"], output="price")
               | sl.write.to_kafka("houses-priced"), kafka="127.0.0.1:9092", name="pricing")
    """
    return Predict(
        model=model,
        features=tuple(features) if features is not None else None,
        output=output,
        alias=None if version is not None else alias,
        version=version,
        split=split,
        by=by,
        name=name,
        **kwargs,
    )


__all__ = ["NO_MODEL", "Predict", "predict"]
