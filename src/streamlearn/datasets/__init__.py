"""Data sets for streamlearn: for now, the synthetic generators of the demo and benchmarks.

``streamlearn.datasets.synth`` holds generators that write records as they would arrive
on a topic; the demo, ``streamlearn produce --generator``, the tests and the benchmarks
all draw from them, so they see the same data.
"""

from __future__ import annotations

__all__ = ["synth"]
