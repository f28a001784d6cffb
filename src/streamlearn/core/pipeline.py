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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, SideInput, Step


class Source:
    """Marker base class of pipeline sources (``read.from_kafka``...)."""

    kind = "source"


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
        raise ConfigError(f"cannot put {type(item).__name__} in a pipeline; expected an "
                          "operator, a source or a pipeline")

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
        """Stable step names: the user's ``name=`` or ``<position>-<kind>``.

        Names key the operator state in the state topic, so they must not change
        between runs of the same pipeline; give stateful operators explicit names if the
        pipeline may be edited while its state is kept.
        """
        names = []
        for i, op in enumerate(self.operators):
            names.append(op.name or f"{i}-{op.kind}")
        if len(set(names)) != len(names):
            raise ConfigError(f"step names must be unique, got {names}")
        return names

    def build(self) -> Chain:
        """Fresh steps for one partition (and for the side pipelines of its inputs)."""
        steps = []
        for name, op in zip(self.step_names(), self.operators, strict=True):
            step = op.build()
            step.name = name
            steps.append(step)
        sides = {}
        for topic, (i, side) in self.side_inputs().items():
            chain = side.pipeline.build()
            for step in chain.steps:  # names key state and dead letters: owner-qualified
                step.name = f"{steps[i].name}.{side.port}/{step.name}"
            sides[topic] = _Side(i, side.port, chain)
        return Chain(steps, sides)

    def side_inputs(self) -> dict[str, tuple[int, SideInput]]:
        """Topic -> (position of the step that declared it, the side input)."""
        found: dict[str, tuple[int, SideInput]] = {}
        for i, op in enumerate(self.operators):
            for side in op.inputs():
                for topic in side.topics:
                    if topic in found:
                        raise ConfigError(f"topic {topic!r} is a side input of two steps")
                    found[topic] = (i, side)
        return found

    def entry_points(self) -> dict[str, int]:
        """Side-input topics and the position of the step they feed (see
        :meth:`Chain.push_side`): their records go through their own decoders, not the
        first steps of this pipeline."""
        return {topic: i for topic, (i, _) in self.side_inputs().items()}

    @property
    def stateful(self) -> bool:
        return any(op.stateful for op in self.operators)

    # -- offline --------------------------------------------------------------------
    def apply(self, df: pl.DataFrame, *, batch_size: int | None = None,
              ctx: Context | None = None,
              side: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame:
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


@dataclass
class _Side:
    """A side input of a chain: the step it feeds, its port, and its decoders' chain."""

    index: int
    port: str
    chain: Chain


class Chain:
    """The built steps of one partition, pushing batches through in order."""

    def __init__(self, steps: Sequence[Step], sides: Mapping[str, _Side] | None = None) -> None:
        self.steps = list(steps)
        #: side-input topic -> where its batches go (see :meth:`push_side`)
        self.sides = dict(sides or {})
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

    def push_side(self, topic: str, batch: Batch | None, ctx: Context) -> Batch | None:
        """A batch of side-input ``topic``: through its decoders, then to the step that
        declared it (:meth:`Step.process_side`); what that returns goes on down the chain."""
        side = self.sides[topic]
        decoded = side.chain.push(batch, ctx)
        if decoded is None or decoded.height == 0:
            return None
        return self._into_side(side, decoded, ctx)

    def _into_side(self, side: _Side, batch: Batch, ctx: Context) -> Batch | None:
        self.rows_in[side.index] += batch.height
        out = self.steps[side.index].process_side(side.port, batch, ctx)
        self._emitted(side.index, out)
        return self.push(out, ctx, side.index + 1)

    def push_port(self, port: str, batch: Batch, ctx: Context, *,
                  decoded: bool = False) -> Batch | None:
        """:meth:`push_side` by port name (offline); ``decoded`` skips the decoders."""
        topic = next((t for t, s in self.sides.items() if s.port == port), None)
        if topic is None:
            raise ConfigError(f"no step has a side input {port!r}; ports: "
                              f"{sorted({s.port for s in self.sides.values()})}")
        if not decoded:
            return self.push_side(topic, batch, ctx)
        return self._into_side(self.sides[topic], batch, ctx)

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
        for step in self.steps:
            for b in step.pending():
                if b.origin is None or not len(b.origin):
                    continue
                offs = b.offsets()
                low = int(offs.min()) if offs is not None and len(offs) else \
                    int(b.origin.offsets.min())
                key = (b.origin.topic, b.origin.partition)
                oldest[key] = min(low, oldest.get(key, low))
        return oldest

    @property
    def rows_removed(self) -> int:
        """Rows the steps took in and did not pass on: filtered out, dead-lettered, or
        still held in a buffer (a window, a model's warm-up)."""
        return sum(self.rows_in) - sum(self.rows_out) + sum(
            s.chain.rows_removed for s in self.sides.values())

    def tick(self, ctx: Context) -> list[Batch]:
        """Give every step its timer call; returns what came out of the last step."""
        out = []
        for i, step in enumerate(self.steps):
            emitted = step.on_timer(ctx)
            self._emitted(i, emitted)
            if emitted is not None and emitted.height:
                res = self.push(emitted, ctx, i + 1)
                if res is not None and res.height:
                    out.append(res)
        return out

    def flush(self, ctx: Context) -> list[Batch]:
        """Flush every buffer, front to back (end of a bounded run)."""
        out = []
        for i, step in enumerate(self.steps):
            emitted = step.flush(ctx)
            self._emitted(i, emitted)
            if emitted is not None and emitted.height:
                res = self.push(emitted, ctx, i + 1)
                if res is not None and res.height:
                    out.append(res)
        return out

    def run_frames(self, batches: Iterable[Batch], ctx: Context, *,
                   flush: bool = True) -> list[Batch]:
        out = []
        for b in batches:
            res = self.push(b, ctx)
            if res is not None and res.height:
                out.append(res)
        if flush:
            out.extend(self.flush(ctx))
        return out

    def snapshot(self) -> dict[str, bytes]:
        """State of every stateful step (side-input decoders included), by step name."""
        snaps = {}
        for step in self._all_steps():
            blob = step.snapshot()
            if blob is not None:
                snaps[step.name] = blob
        return snaps

    def _all_steps(self) -> list[Step]:
        return self.steps + [s for side in self.sides.values() for s in side.chain.steps]

    def restore(self, snaps: dict[str, bytes]) -> None:
        for step in self._all_steps():
            if step.name in snaps:
                step.restore(snaps[step.name])
