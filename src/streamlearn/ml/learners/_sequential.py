"""The driver of per-row online algorithms that skips passive rows in vectorised blocks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def run_sequential(
    n: int, scan: Callable[[int, int], np.ndarray], update: Callable[[int], bool]
) -> int:
    """Drive a per-row online algorithm over ``n`` rows; returns how many rows changed it.

    ``scan(i, j)`` says, vectorised, which rows of ``i:j`` would update the model as it is
    now; rows before the first such row are passive and skipped in one go. ``update(i)``
    applies row ``i`` exactly (recomputing its loss) and says whether the model changed.
    The result equals visiting every row in order; it is just faster when most rows are
    passive (a good model).
    """
    i, block, changed = 0, 8, 0
    while i < n:
        stop = min(n, i + block)
        hits = np.flatnonzero(scan(i, stop))
        if hits.size == 0:
            i, block = stop, min(block * 2, 4096)
            continue
        j = i + int(hits[0])
        changed += bool(update(j))
        i, block = j + 1, max(8, block // 4)
    return changed
