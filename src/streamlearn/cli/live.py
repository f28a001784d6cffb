"""The live Rich view of a running pipeline, written once for every demo scenario.

Rates are averaged over the last few seconds (``RATE_WINDOW_S``): the runner reports
every 0.25 s and the stream arrives in bursts, so an instantaneous rate would read
``0/s`` most of the time. The view is transient while it runs and printed once when it
ends, so the final panel appears exactly once whatever interrupted the run.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from streamlearn.runtime.stats import RunStats

__all__ = ["RATE_WINDOW_S", "LiveView", "RateMeter"]

#: seconds the shown rates are averaged over
RATE_WINDOW_S = 3.0


class RateMeter:
    """Records per second of several counters over a sliding window of ``window`` s.

    Examples
    --------
    >>> m = RateMeter(window=3.0)
    >>> m.add(0.0, 0, 0); m.add(1.0, 500, 100); m.add(2.0, 500, 100)
    >>> m.rates()
    (250.0, 50.0)
    >>> m.add(10.0, 900, 100); m.rates()     # older samples fall out of the window
    (50.0, 0.0)
    """

    def __init__(self, window: float = RATE_WINDOW_S) -> None:
        self.window = window
        self._samples: deque[tuple[float, tuple[int, ...]]] = deque()

    def add(self, now: float, *counts: int) -> None:
        self._samples.append((now, counts))
        # keep one sample at or before the window's start, so the span covers it
        while len(self._samples) > 2 and self._samples[1][0] <= now - self.window:
            self._samples.popleft()

    def rates(self) -> tuple[float, ...]:
        if len(self._samples) < 2:
            return tuple(0.0 for _ in (self._samples[0][1] if self._samples else ()))
        (t0, c0), (t1, c1) = self._samples[0], self._samples[-1]
        dt = max(t1 - t0, 1e-9)
        return tuple((b - a) / dt for a, b in zip(c0, c1, strict=True))


class LiveView:
    """A panel with the run's counters, the scenario's rows and tables, and rates.

    ``describe(stats)`` returns ``(rows, tables)``: ``rows`` are ``(label, value)``,
    tables have ``title``, ``columns`` and ``rows`` (see ``streamlearn.demo.ViewTable``).
    Use it as a context manager and pass :meth:`update` as the runner's ``on_progress``.
    """

    def __init__(
        self,
        console: Console,
        title: str,
        describe: Callable[[RunStats], Any],
        subtitle: str = "Ctrl-C to stop",
    ) -> None:
        self.console = console
        self.title = title
        self.subtitle = subtitle
        self.describe = describe
        self.meter = RateMeter()
        self.stats = RunStats()
        self.status: str | None = None
        self._live: Live | None = None

    def update(self, stats: RunStats) -> None:
        self.stats = stats
        self.meter.add(time.monotonic(), stats.records_in, stats.records_out)
        if self._live is not None:
            self._live.update(self.render())

    def stopping(self, message: str = "stopping...") -> None:
        """Show at once that a stop was asked for (the commit may take a moment)."""
        self.status = message
        if self._live is not None:
            self._live.update(self.render(), refresh=True)

    def render(self) -> Panel:
        s = self.stats
        in_rate, out_rate = self.meter.rates() or (0.0, 0.0)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan")
        grid.add_column(justify="right")
        grid.add_row("records in", f"{s.records_in:,}  ({in_rate:,.0f}/s)")
        grid.add_row("records out", f"{s.records_out:,}  ({out_rate:,.0f}/s)")
        rows, tables = self.describe(s)
        for label, value in rows:
            grid.add_row(label, value)
        grid.add_row("batch latency", f"{s.last_batch_ms:.1f} ms")
        parts: list[Any] = [grid]
        for spec in tables:
            parts.append(_table(spec.title, spec.columns, spec.rows))
        subtitle = f"[bold yellow]{self.status}[/]" if self.status else self.subtitle
        return Panel(Group(*parts), title=self.title, subtitle=subtitle)

    def __enter__(self) -> LiveView:
        self._live = Live(
            self.render(),
            console=self.console,
            refresh_per_second=4,
            transient=True,
            redirect_stderr=False,
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.__exit__(None, None, None)
        self.status = None
        self.subtitle = "done"
        self.console.print(self.render())


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    t = Table(title=title, show_edge=False)
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*row)
    return t
