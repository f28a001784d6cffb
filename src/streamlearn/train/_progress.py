"""Rich progress bars for a training job (on stderr), or none.

>>> with bars(False) as b:
...     step = b.task("reading", total=3)
...     step(1)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any


class _Bars:
    def __init__(self, progress: Any) -> None:
        self.progress = progress

    def task(self, description: str, total: float | None) -> Callable[..., None]:
        """A new bar; the returned function advances it (``step(n)``, or
        ``step(completed=x, total=y)``)."""
        if self.progress is None:
            return lambda *a, **k: None
        tid = self.progress.add_task(description, total=total)

        def step(advance: float = 0, **fields: Any) -> None:
            self.progress.update(tid, advance=advance, **fields)

        return step


@contextlib.contextmanager
def bars(enabled: bool) -> Iterator[_Bars]:
    """Progress bars on stderr when ``enabled`` (a terminal or not), else silent ones."""
    if not enabled:
        yield _Bars(None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
    )
    progress = Progress(*columns, console=Console(stderr=True))
    with progress:
        yield _Bars(_WithNote(progress))


class _WithNote:
    """A Progress whose tasks always have the ``note`` field the columns show."""

    def __init__(self, progress: Any) -> None:
        self._p = progress

    def add_task(self, description: str, total: float | None) -> Any:
        return self._p.add_task(description, total=total, note="")

    def update(self, tid: Any, **kwargs: Any) -> None:
        self._p.update(tid, **kwargs)
