"""Windows (``sl.window.timer(seconds=5)``: the processing-time tumbling window)."""

from __future__ import annotations

from streamlearn.window.tumbling import ProcessingTimeTumblingWindow, timer

__all__ = ["ProcessingTimeTumblingWindow", "timer"]
