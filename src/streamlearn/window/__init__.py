"""Windows (``sl.window.timer(seconds=5)``)."""

from __future__ import annotations

from streamlearn.window.tumbling import Timer


def timer(seconds: float = 1.0, *, max_rows: int = 100_000, name: str | None = None) -> Timer:
    """Processing-time tumbling window; see :class:`~streamlearn.window.tumbling.Timer`."""
    return Timer(seconds=seconds, max_rows=max_rows, name=name)


__all__ = ["timer"]
