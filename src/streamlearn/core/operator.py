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
  snapshotted;
* ``process_side(port, batch, ctx)``: a batch of a side input (see below).

Operators declare what they read and write besides the main stream, so the runtime can
provision, route and commit from the declarations instead of asking for attributes:
:meth:`Operator.inputs` lists :class:`SideInput` s (e.g. the labels of an online learner:
a source and the operators that decode it), :meth:`Operator.outputs` the
:class:`OutputTopic` s it writes to from inside its step (e.g. a learner's metrics).

Anything a step cannot process goes to ``ctx.dead_letter`` with the reason: a pipeline
never stops on bad input and never drops it silently.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamlearn.core.batch import Batch
    from streamlearn.core.pipeline import Pipeline


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

    def emit(self, destination: str, batch: Batch, values: list[bytes],
             keys: list[bytes | None] | None = None) -> None:
        """Hand encoded records to a sink destination (a topic, a table...)."""
        self.outputs.setdefault(destination, []).append(batch)

    @property
    def dead_lettered(self) -> int:
        return sum(d.batch.height for d in self.dead_letters)


@dataclass(frozen=True)
class SideInput:
    """A second input of an operator: records of ``pipeline``'s source, passed through its
    operators (the decoders), then handed to the step's :meth:`Step.process_side`.

    Parameters
    ----------
    port
        The name the step knows this input by (``"feedback"``).
    pipeline
        A :class:`~streamlearn.core.pipeline.Pipeline` with a source and the operators
        that turn its records into the batches the step expects.
    mode
        How partitions of the side input meet those of the main input:
        ``"copartitioned"`` (partition *p* of both feeds the same step; the topics must
        have the same partition count and be keyed alike).

    Examples
    --------
    >>> import streamlearn as sl
    >>> side = SideInput("feedback", sl.read.from_kafka("labels") | sl.decode.json())
    >>> side.port, side.pipeline.source.topics, side.mode
    ('feedback', ('labels',), 'copartitioned')
    """

    port: str
    pipeline: Pipeline
    mode: str = "copartitioned"

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics the side input reads (those of its pipeline's source)."""
        return tuple(getattr(self.pipeline.source, "topics", ()))


@dataclass(frozen=True)
class OutputTopic:
    """A topic an operator writes to from inside its step (not a pipeline sink).

    ``partitions=None`` lets the runtime choose (one partition for a side stream such as
    metrics); ``config`` holds topic settings for its creation.

    Examples
    --------
    >>> OutputTopic("s4-metrics")
    OutputTopic(topic='s4-metrics', partitions=None, config={})
    """

    topic: str
    partitions: int | None = None
    config: Mapping[str, str] = field(default_factory=dict, hash=False)


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
        """Take a batch of the side input ``port`` (already through its decoders).

        What it returns continues down the chain from the next step, like the output of
        :meth:`process`. Only steps of operators that declare :meth:`Operator.inputs`
        receive side batches.
        """
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
        """Side inputs besides the main stream (none by default)."""
        return ()

    def outputs(self) -> tuple[OutputTopic, ...]:
        """Topics written from inside the step besides the pipeline's sinks (none by default)."""
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
