"""Windows: gather batches of a partition and release them together.

``timer`` is the kdb Insights ``window.timer``: a processing-time tumbling window
that emits everything it collected every ``seconds`` (and earlier once ``max_rows``
are buffered, so memory stays bounded under load). Buffered rows are not
snapshotted: the runtime commits no further than the oldest row still in a window, so a
crash loses none of them and a restart reads them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Context, Operator, Step


def timer(
    seconds: float = 1.0, *, max_rows: int = 100_000, name: str | None = None
) -> ProcessingTimeTumblingWindow:
    """Emit the rows collected in each ``seconds``-long processing-time window.

    A tumbling window on the machine's clock (kdb Insights' ``window.timer``): every
    ``seconds`` it releases everything it gathered from a partition, in order, and
    earlier once ``max_rows`` are held, so memory stays bounded under load. Held rows are
    re-read after a crash, not snapshotted.

    Parameters
    ----------
    seconds
        Window length. ``0`` passes every batch through at once.
    max_rows
        Emit early when this many rows are held.
    name
        Step name (default: derived from the operator kind).

    Examples
    --------
    >>> import polars as pl, streamlearn as sl
    >>> sl.window.timer(seconds=5).apply(pl.DataFrame({"x": [1, 2]}))["x"].to_list()
    [1, 2]
    """
    return ProcessingTimeTumblingWindow(seconds, max_rows, name=name)


@dataclass(frozen=True)
class ProcessingTimeTumblingWindow(Operator):
    """The operator :func:`timer` builds (its parameters and defaults are documented there)."""

    seconds: float
    max_rows: int
    kind: str = field(default="window.timer", init=False, repr=False)

    def __post_init__(self) -> None:
        if self.seconds < 0 or self.max_rows < 1:
            raise ConfigError("window.timer needs seconds >= 0 and max_rows >= 1")

    def build(self) -> Step:
        return _TimerStep(self)


class _TimerStep(Step):
    def __init__(self, spec: ProcessingTimeTumblingWindow) -> None:
        self.spec = spec
        self.buffer: list[Batch] = []
        self.rows = 0
        self.opened: float | None = None

    def pending(self) -> list[Batch]:
        return self.buffer

    def _release(self) -> Batch | None:
        if not self.buffer:
            return None
        out = Batch.concat(self.buffer)
        self.buffer, self.rows, self.opened = [], 0, None
        return out

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        if self.spec.seconds == 0:
            return batch
        now = ctx.now()
        if self.opened is None:
            self.opened = now
        self.buffer.append(batch)
        self.rows += batch.height
        if self.rows >= self.spec.max_rows or now - self.opened >= self.spec.seconds:
            return self._release()
        return None

    def on_timer(self, ctx: Context) -> Batch | None:
        if self.buffer and self.opened is None:  # restored from a snapshot
            self.opened = ctx.now()
        if self.opened is not None and ctx.now() - self.opened >= self.spec.seconds:
            return self._release()
        return None

    def flush(self, ctx: Context) -> Batch | None:
        return self._release()


__all__ = ["ProcessingTimeTumblingWindow", "timer"]
