"""The operator contract.

An :class:`Operator` is a frozen *spec*: its hyperparameters, nothing learned. The
runtime calls :meth:`Operator.build` once per input partition to get a fresh
:class:`Step` that holds that partition's state, as Kafka Streams' ProcessorSupplier and
Bytewax's ``build(resume_state)`` do. A stateful step is therefore never shared across
partitions, and a rebalance moves its state with the partition (snapshot on revoke,
restore on assign).

A step receives a :class:`~streamlearn.core.batch.Batch` and returns a batch (or
``None`` for "nothing to pass on yet"). Optional hooks:

* ``on_timer(ctx)``: called regularly by the run loop, for processing-time windows;
* ``flush(ctx)``: emit whatever is buffered (end of a bounded run);
* ``snapshot() -> bytes`` / ``restore(bytes)``: the step's learned state, as an immutable
  value; ``None`` from ``snapshot`` means "stateless";
* ``pending()``: rows held for later, which are re-read after a restart instead of being
  snapshotted.

Anything a step cannot process goes to ``ctx.dead_letter`` with the reason: a pipeline
never stops on bad input and never drops it silently.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from streamlearn.core.backoff import flush_waiting

if TYPE_CHECKING:
    from streamlearn.core.batch import Batch
    from streamlearn.core.pipeline import Pipeline


@dataclass(frozen=True)
class OutputTopic:
    """A topic an operator writes to, declared so the runtime can create it up front.

    ``partitions=None`` means "as many as the pipeline's input" (keys keep their
    partition); ``config`` is topic configuration such as ``{"cleanup.policy":
    "compact"}``. An existing topic is used as it is.
    """

    topic: str
    partitions: int | None = None
    config: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class SideInput:
    """A second input of an operator, besides the main stream (e.g. a learner's labels).

    ``pipeline`` is the source and the operators that decode it
    (``sl.read.from_kafka("labels") | sl.decode.json(...)``); its batches are handed to
    the step's :meth:`Step.process_side` under ``port``. ``mode`` is
    ``"copartitioned"`` (partition *p* of it meets partition *p* of the main input: same
    partition count, keyed alike) or ``"broadcast"`` (every instance reads all of it: a
    control or table topic).
    """

    port: str
    pipeline: Pipeline
    mode: str = "copartitioned"


@dataclass
class DeadLetter:
    """Records that a step could not process, and why."""

    batch: Batch
    reasons: list[str]
    operator: str


class Context:
    """What a step may ask of the world it runs in: the time, and where to send output.

    The offline context (this class) keeps everything in lists, so a pipeline can run
    over a DataFrame with no broker; the Kafka runtime subclasses it.
    """

    def __init__(self, clock: Any = time.monotonic, wall_clock: Any = time.time) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self.dead_letters: list[DeadLetter] = []
        self.outputs: dict[str, list[Batch]] = {}
        self.metrics: dict[str, Any] = {}
        #: the sinks opened in this run, by step name (see :mod:`streamlearn.write.base`)
        self.sinks: dict[str, Any] = {}
        #: rows handed to sinks (the pipeline's output; side streams such as a learner's
        #: metrics are not counted)
        self.rows_written = 0
        #: columns that Kafka sinks also write as a header of each record: column ->
        #: (header name, text before the value), e.g. ``{"model_version":
        #: ("sl-model-version", "house-price:")}`` (set by the steps that make them)
        self.record_headers: dict[str, tuple[str, str]] = {}
        #: what every partition's step of one operator shares in this run, by key
        #: (see :meth:`shared`)
        self.shared_state: dict[str, Any] = {}

    def sink(self, step: str, spec: Any) -> Any:
        """The sink of step ``step``, opened with ``spec.open(self)`` on first use: one
        per run, shared by every partition's step."""
        sink = self.sinks.get(step)
        if sink is None:
            sink = self.sinks[step] = spec.open(self)
        return sink

    def shared(self, key: str, factory: Any) -> Any:
        """The object under ``key`` in this run, made by ``factory()`` on first use: state
        the steps of every partition share (a predict step's loaded models), and that
        another run of the same operator (another pipeline, another thread) never sees.

        >>> ctx = Context()
        >>> ctx.shared("a", list) is ctx.shared("a", list)
        True
        """
        obj = self.shared_state.get(key)
        if obj is None:
            obj = self.shared_state[key] = factory()
        return obj

    def observe_output(self, batch: Batch) -> None:
        """A batch reached a sink: the runtime notes its end-to-end latency (offline:
        nothing to note)."""

    def flush_sinks(self, *, wait: bool = True) -> None:
        """Make everything written to the sinks durable (the checkpoint calls this before
        committing offsets). A sink whose database is away raises
        :class:`~streamlearn.core.errors.SinkUnavailable`; with ``wait`` (offline) the
        flush is tried again in place with back-off for the sink's ``retry_for``
        (:func:`~streamlearn.core.backoff.flush_waiting`); the Kafka runtime passes
        ``wait=False`` and pauses its partitions instead."""
        for sink in self.sinks.values():
            if wait:
                flush_waiting(sink.flush)
            else:
                sink.flush()

    def close_sinks(self) -> None:
        """Close every sink (end of a run); the first error is raised after all closed."""
        first: Exception | None = None
        for sink in self.sinks.values():
            try:
                sink.close()
            except Exception as exc:
                first = first or exc
        self.sinks.clear()
        if first is not None:
            raise first

    def now(self) -> float:
        """Seconds on a monotonic clock (injected, so tests advance time instead of sleeping)."""
        return float(self._clock())

    def wall_time(self) -> float:
        """Seconds since the epoch: for ages that must survive a restart (state TTLs),
        which a monotonic clock, restarted with the process, cannot measure."""
        return float(self._wall_clock())

    def dead_letter(self, batch: Batch, reasons: str | list[str], operator: str) -> None:
        """Send rows that could not be processed to the dead-letter destination."""
        if not batch.height:
            return
        if isinstance(reasons, str):
            reasons = [reasons] * batch.height
        self.dead_letters.append(DeadLetter(batch, list(reasons), operator))

    def emit(
        self,
        destination: str,
        batch: Batch,
        values: list[bytes],
        keys: list[bytes | None] | None = None,
        headers: Sequence[tuple[str, Sequence[bytes]]] = (),
    ) -> None:
        """Hand encoded records to a sink destination (a topic, a table...).

        ``headers`` are extra record headers, as columns: ``(name, one value per
        record)``; the Kafka runtime writes them after ``sl-id``."""
        self.outputs.setdefault(destination, []).append(batch)

    @property
    def dead_lettered(self) -> int:
        return sum(d.batch.height for d in self.dead_letters)


class Step(ABC):
    """The running logic of an operator for one partition."""

    #: the step name, set by the pipeline (stable across restarts: it keys the state)
    name: str = ""

    def pending(self) -> list[Batch]:
        """Batches taken in and held for later (window contents, a warm-up buffer).

        Held rows are *not* part of the snapshot: the runtime commits the input offset of
        the oldest held row instead, so after a restart they are read again. Steps pass
        rows on in order, so everything downstream saw only rows older than any held row,
        and the snapshot of the whole chain stays consistent with that offset. This keeps
        snapshots small (a model, not a 5-second window of raw records).
        """
        return []

    @property
    def held(self) -> int:
        """Number of rows held (see :meth:`pending`)."""
        return sum(b.height for b in self.pending())

    @abstractmethod
    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        """Transform one batch."""

    def process_side(self, port: str, batch: Batch, ctx: Context) -> Batch | None:
        """A batch of the side input ``port`` (see :class:`SideInput`), already decoded
        by its pipeline; what it returns continues down the chain like an output of
        :meth:`process`."""
        raise NotImplementedError(f"step {self.name!r} declares no side input {port!r}")

    def on_timer(self, ctx: Context) -> Batch | None:
        return None

    def flush(self, ctx: Context) -> Batch | None:
        return None

    def snapshot(self) -> bytes | None:
        return None

    def restore(self, blob: bytes) -> None:  # pragma: no cover - stateless default
        return None


@dataclass(frozen=True)
class Operator(ABC):
    """A frozen pipeline-step spec; compose with ``|``."""

    name: str | None = field(default=None, kw_only=True)

    #: short name of the operator kind, used for default step names ("decode.json")
    kind: str = field(default="operator", init=False, repr=False)
    #: True when :meth:`build` returns steps with state to snapshot
    stateful: bool = field(default=False, init=False, repr=False)

    @abstractmethod
    def build(self) -> Step:
        """Return a fresh step for one partition."""

    def inputs(self) -> tuple[SideInput, ...]:
        """Inputs this operator reads besides the main stream (none by default)."""
        return ()

    def outputs(self) -> tuple[OutputTopic, ...]:
        """Topics this operator writes to (none by default), provisioned at start-up."""
        return ()

    def __or__(self, other: Any) -> Pipeline:
        from streamlearn.core.pipeline import Pipeline

        return Pipeline(operators=(self,)) | other

    def apply(self, df: Any, **kwargs: Any) -> Any:
        """Run this one operator over a DataFrame; see :meth:`Pipeline.apply`."""
        from streamlearn.core.pipeline import Pipeline

        return Pipeline(operators=(self,)).apply(df, **kwargs)

    def __ror__(self, other: Any) -> Pipeline:
        from streamlearn.core.pipeline import Pipeline

        return Pipeline.of(other) | self


class StatelessStep(Step, ABC):
    """A step with no state; its operator may share one instance across partitions."""
