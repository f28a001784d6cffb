"""The feature block of a batch, or the batch dead-lettered with the reason.

Every learner operator starts the same way: the columns it needs must be there and the
features must be numbers. Checked once per batch (not per record), and a batch that
fails goes to the dead-letter topic whole, with one reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.operator import Context


def feature_block(
    batch: Batch,
    features: Sequence[str],
    also: Sequence[str],
    ctx: Context,
    step: str,
    *,
    what: str = "record",
) -> np.ndarray | None:
    """``batch``'s ``features`` as a float64 block; ``None`` (batch dead-lettered) when a
    feature or one of ``also`` is missing, or a feature is not numeric.

    >>> import streamlearn as sl
    >>> ctx = sl.Context()
    >>> b = sl.Batch.from_frame(pl.DataFrame({"x": [1, 2], "y": ["a", "b"]}))
    >>> feature_block(b, ["x"], ["y"], ctx, "step").tolist()
    [[1.0], [2.0]]
    >>> feature_block(b, ["x"], ["z"], ctx, "step"), ctx.dead_lettered
    (None, 2)
    """
    df = batch.data
    missing = [c for c in (*features, *also) if c not in df.columns]
    if missing:
        ctx.dead_letter(batch, f"{what} lacks column(s) {missing}", step)
        return None
    try:
        return df.select(pl.col(list(features)).cast(pl.Float64)).to_numpy()
    except pl.exceptions.PolarsError as exc:
        ctx.dead_letter(batch, f"features are not numeric: {exc}", step)
        return None
