"""Pipelines: a source, then operators applied in order; run offline or on Kafka.

A :class:`Pipeline` is a value: composing with ``|`` returns a new one. The same
operators run over a DataFrame (:meth:`Pipeline.apply`, e.g. feature engineering at
training time) and over a Kafka stream (:func:`streamlearn.run`), which is how training
and serving share one definition of the features.

Examples
--------
>>> import polars as pl
>>> import streamlearn as sl
>>> p = sl.filter(pl.col("x") > 1) | sl.map(lambda df: df.with_columns(y=pl.col("x") * 2))
>>> p.apply(pl.DataFrame({"x": [1, 2, 3]}))["y"].to_list()
[4, 6]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, OutputTopic, SideInput, Step


class Source:
    """Base class of pipeline sources (``sl.read.from_kafka``...): the topics to read.

    A source is a declaration, not a client: the runtime reads it (see
    :mod:`streamlearn.read.base` for the settings a Kafka source carries).
    """

    kind = "source"
    topics: Sequence[str] = ()


@dataclass(frozen=True)
class Route:
    """Where the records of a side-input topic go: through ``decode`` (the side input's
    own operators), then to ``step``'s :meth:`Step.process_side` under ``port``."""

    step: int
    port: str
    decode: Pipeline
    mode: str = "copartitioned"


@dataclass(frozen=True)
class Pipeline:
    """A source (optional until run) and a chain of operators."""

    source: Source | None = None
    operators: tuple[Operator, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, item: Any) -> Pipeline:
        if isinstance(item, Pipeline):
            return item
        if isinstance(item, Source):
            return cls(source=item)
        if isinstance(item, Operator):
            return cls(operators=(item,))
        raise ConfigError(
            f"cannot put {type(item).__name__} in a pipeline; expected an "
            "operator, a source or a pipeline"
        )

    def __or__(self, other: Any) -> Pipeline:
        other = Pipeline.of(other)
        if other.source is not None:
            if self.source is not None or self.operators:
                raise ConfigError("a source can only start a pipeline")
            return Pipeline(other.source, other.operators)
        return Pipeline(self.source, self.operators + other.operators)

    def __ror__(self, other: Any) -> Pipeline:
        return Pipeline.of(other) | self

    # -- naming ---------------------------------------------------------------------
    def step_names(self) -> list[str]:
        """Step names: the user's ``name=``, else derived from the operator kind.

        Names key the operator state in the state topic, so a stateful step's name must
        not change when the pipeline is edited: it is its kind (``ml.sequential_k_means``),
        numbered from the second of a kind (``ml.sequential_k_means-2``), never its
        position, so inserting a stateless step leaves every state key as it was. Stateless
        steps are named ``<position>-<kind>``. Give stateful steps explicit names when a
        pipeline may hold two of a kind.

        Examples
        --------
        >>> import polars as pl, streamlearn as sl
        >>> p = sl.filter(pl.col("x") > 0) | sl.ml.sequential_k_means(["x"], k=2)
        >>> p.step_names()
        ['0-filter', 'ml.sequential_k_means']
        """
        names = []
        seen: dict[str, int] = {}
        for i, op in enumerate(self.operators):
            if op.name:
                names.append(op.name)
            elif op.stateful:
                seen[op.kind] = seen.get(op.kind, 0) + 1
                names.append(op.kind if seen[op.kind] == 1 else f"{op.kind}-{seen[op.kind]}")
            else:
                names.append(f"{i}-{op.kind}")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(
                f"step names must be unique; {dup} appear more than once (give the steps name=...)"
            )
        return names

    def stateful_steps(self) -> list[str]:
        """Names of the steps whose state is snapshotted."""
        return [n for n, op in zip(self.step_names(), self.operators, strict=True) if op.stateful]

    def build(self) -> Chain:
        """Fresh steps for one partition (and for each side input's operators)."""
        steps = []
        for name, op in zip(self.step_names(), self.operators, strict=True):
            step = op.build()
            step.name = name
            steps.append(step)
        sides: dict[str, list[tuple[int, str, Chain]]] = {}
        for topic, routes in self.routes().items():
            for route in routes:
                side = route.decode.build()
                for sub in side.steps:  # "pa.feedback/0-decode.json": whose input it decodes
                    sub.name = f"{steps[route.step].name}.{route.port}/{sub.name}"
                sides.setdefault(topic, []).append((route.step, route.port, side))
        return Chain(steps, sides)

    # -- declared inputs and outputs ------------------------------------------------
    def routes(self) -> dict[str, list[Route]]:
        """Side-input topics and where their records go (from ``Operator.inputs()``).

        A broadcast topic may feed several steps (two ``sl.ml.predict`` steps read one
        registry); any other topic is read once."""
        routes: dict[str, list[Route]] = {}
        for i, op in enumerate(self.operators):
            for side in op.inputs():
                src = side.pipeline.source
                if src is None or not src.topics:
                    raise ConfigError(
                        f"side input {side.port!r} of {op.kind} has no source "
                        "(e.g. sl.read.from_kafka('labels'))"
                    )
                if side.pipeline.routes() or side.pipeline.stateful:
                    raise ConfigError(
                        f"side input {side.port!r} of {op.kind}: its operators "
                        "must be stateless and have no inputs of their own"
                    )
                for topic in src.topics:
                    before = routes.get(topic, [])
                    shared = side.mode == "broadcast" and all(
                        r.mode == "broadcast" and r.step != i for r in before
                    )
                    main = self.source is not None and topic in self.source.topics
                    if main or (before and not shared):
                        raise ConfigError(f"topic {topic!r} is read twice by the pipeline")
                    routes.setdefault(topic, []).append(
                        Route(i, side.port, side.pipeline, side.mode)
                    )
        return routes

    def side_inputs(self) -> list[SideInput]:
        """Every side input declared by the operators, in pipeline order."""
        return [side for op in self.operators for side in op.inputs()]

    def outputs(self) -> list[OutputTopic]:
        """Every topic the operators declare they write."""
        return [out for op in self.operators for out in op.outputs()]

    @property
    def stateful(self) -> bool:
        return any(op.stateful for op in self.operators)

    # -- offline --------------------------------------------------------------------
    def apply(
        self,
        df: pl.DataFrame,
        *,
        batch_size: int | None = None,
        ctx: Context | None = None,
        side: Mapping[str, pl.DataFrame] | None = None,
    ) -> pl.DataFrame:
        """Run the operators over a DataFrame, as if it were one partition of a stream.

        ``batch_size`` splits the frame into micro-batches in order (the streaming run
        sees the same rows in the same order, so order-dependent learners agree). Sinks
        collect what they would write into ``ctx.outputs``; rows that fail go to
        ``ctx.dead_letters``. Buffers (windows, k-means warm-up) are flushed at the end.

        ``side`` feeds side inputs by port (e.g. ``{"feedback": labels}`` for an online
        learner), after ``df``: the order of a stream whose labels come later. A frame
        with a ``value`` column holds raw records and goes through the side input's
        decoders; any other frame is taken as decoded and handed to the step as it is.
        """
        ctx = ctx or Context()
        chain = self.build()
        outs = [b.data for b in chain.run_frames(_split(df, batch_size), ctx, flush=False)]
        for port, frame in (side or {}).items():
            for b in _split(frame, batch_size):
                res = chain.push_port(port, b, ctx, decoded="value" not in frame.columns)
                if res is not None and res.height:
                    outs.append(res.data)
        outs.extend(b.data for b in chain.flush(ctx))
        outs = [o for o in outs if o.height]
        if not outs:
            return pl.DataFrame()
        return pl.concat(outs, how="vertical_relaxed")


def _split(df: pl.DataFrame, batch_size: int | None) -> Iterable[Batch]:
    if not batch_size or batch_size >= df.height:
        yield Batch.from_frame(df)
        return
    for start in range(0, df.height, batch_size):
        yield Batch.from_frame(df.slice(start, batch_size), first_offset=start)


class Chain:
    """The built steps of one partition, pushing batches through in order."""

    def __init__(
        self, steps: Sequence[Step], sides: dict[str, list[tuple[int, str, Chain]]] | None = None
    ) -> None:
        self.steps = list(steps)
        #: side-input topic -> [(step index, port, the side input's own built operators)]
        #: (a broadcast topic may feed several steps)
        self.sides = sides or {}
        #: rows that went into / came out of each step (rows dropped by filters, held in
        #: buffers or dead-lettered are the difference)
        self.rows_in = [0] * len(self.steps)
        self.rows_out = [0] * len(self.steps)

    def push(self, batch: Batch | None, ctx: Context, start: int = 0) -> Batch | None:
        for i in range(start, len(self.steps)):
            if batch is None or batch.height == 0:
                return None
            self.rows_in[i] += batch.height
            batch = self.steps[i].process(batch, ctx)
            if batch is not None:
                self.rows_out[i] += batch.height
        return batch

    def push_side(self, topic: str, batch: Batch, ctx: Context) -> Batch | None:
        """A batch of a side-input topic: through its own operators, then to the step
        that declared it (each, in order, when several did); what such a step returns
        continues down the chain (the last of these results is returned)."""
        result = None
        for i, port, decode in self.sides[topic]:
            self.rows_in[i] += batch.height
            decoded = decode.push(batch, ctx)
            if decoded is None or decoded.height == 0:
                continue
            out = self.steps[i].process_side(port, decoded, ctx)
            if out is None or out.height == 0:
                continue
            self.rows_out[i] += out.height
            result = self.push(out, ctx, i + 1)
        return result

    def push_port(
        self, port: str, batch: Batch, ctx: Context, *, decoded: bool = False
    ) -> Batch | None:
        """:meth:`push_side` by port name (offline); ``decoded`` skips the side input's
        operators (the batch is already what they would make of the records)."""
        topic = next(
            (t for t, routes in self.sides.items() for _, p, _ in routes if p == port), None
        )
        if topic is None:
            raise ConfigError(
                f"no step has a side input {port!r}; ports: "
                f"{sorted({p for routes in self.sides.values() for _, p, _ in routes})}"
            )
        if not decoded:
            return self.push_side(topic, batch, ctx)
        result = None
        for i, p, _ in self.sides[topic]:
            if p != port:
                continue
            self.rows_in[i] += batch.height
            out = self.steps[i].process_side(port, batch, ctx)
            if out is None or out.height == 0:
                continue
            self.rows_out[i] += out.height
            result = self.push(out, ctx, i + 1)
        return result

    def _emitted(self, i: int, batch: Batch | None) -> None:
        if batch is not None:
            self.rows_out[i] += batch.height

    @property
    def rows_held(self) -> int:
        """Rows waiting in buffers of the steps."""
        return sum(step.held for step in self.steps)

    def oldest_held(self) -> dict[tuple[str, int], int]:
        """The smallest source offset still held in a buffer, per topic partition.

        The runtime commits no further than this, so held rows are read again after a
        restart (see :meth:`Step.pending`).
        """
        oldest: dict[tuple[str, int], int] = {}
        side_steps = [st for routes in self.sides.values() for _, _, c in routes for st in c.steps]
        for step in [*self.steps, *side_steps]:
            for b in step.pending():
                if b.origin is None or not len(b.origin):
                    continue
                offs = b.offsets()
                low = (
                    int(offs.min())
                    if offs is not None and len(offs)
                    else int(b.origin.offsets.min())
                )
                key = (b.origin.topic, b.origin.partition)
                oldest[key] = min(low, oldest.get(key, low))
        return oldest

    @property
    def rows_removed(self) -> int:
        """Rows the steps took in and did not pass on: filtered out, dead-lettered, or
        still held in a buffer (a window, a model's warm-up)."""
        return sum(self.rows_in) - sum(self.rows_out)

    def tick(self, ctx: Context) -> list[Batch]:
        """Give every step its timer call; returns what came out of the last step."""
        return self._release(ctx, lambda step: step.on_timer(ctx))

    def flush(self, ctx: Context) -> list[Batch]:
        """Flush every buffer, front to back (end of a bounded run)."""
        return self._release(ctx, lambda step: step.flush(ctx))

    def _release(self, ctx: Context, emit: Callable[[Step], Batch | None]) -> list[Batch]:
        """What each step lets go (front to back) continues down the chain from it."""
        out = []
        for i, step in enumerate(self.steps):
            emitted = emit(step)
            self._emitted(i, emitted)
            if emitted is not None and emitted.height:
                res = self.push(emitted, ctx, i + 1)
                if res is not None and res.height:
                    out.append(res)
        return out

    def run_frames(
        self, batches: Iterable[Batch], ctx: Context, *, flush: bool = True
    ) -> list[Batch]:
        out = []
        for b in batches:
            res = self.push(b, ctx)
            if res is not None and res.height:
                out.append(res)
        if flush:
            out.extend(self.flush(ctx))
        return out

    def snapshot(self) -> dict[str, bytes]:
        """State of every stateful step, by step name."""
        snaps = {}
        for step in self.steps:
            blob = step.snapshot()
            if blob is not None:
                snaps[step.name] = blob
        return snaps

    def restore(self, snaps: dict[str, bytes]) -> None:
        for step in self.steps:
            if step.name in snaps:
                step.restore(snaps[step.name])
