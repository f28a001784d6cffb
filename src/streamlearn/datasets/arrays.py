"""Decoded frames -> NumPy arrays (what ``to_numpy``, ``torch()`` and ``keras()`` hand on).

Examples
--------
>>> import numpy as np, polars as pl
>>> x, y = frame_to_numpy(pl.DataFrame({"a": [1, 2], "y": [0, 1]}), ["a"], "y", dtype=np.float32)
>>> x.dtype, x.shape, y.tolist()
(dtype('float32'), (2, 1), [0, 1])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.errors import ConfigError

__all__ = ["frame_to_numpy"]


def frame_to_numpy(
    df: pl.DataFrame, features: Sequence[str], label: str | None, *, dtype: Any
) -> Any:
    """Columns of ``df`` as arrays; a missing column is one line naming what is there."""
    wanted = [*features, *([label] if label is not None else [])]
    missing = [c for c in wanted if c not in df.columns]
    if missing and df.height:
        raise ConfigError(f"no columns {missing} in the dataset (it has {df.columns})")
    if not df.height:
        x = np.empty((0, len(features)), dtype=dtype)
        return (x, np.empty(0)) if label is not None else x
    x = df.select(features).to_numpy().astype(dtype, copy=False)
    if label is None:
        return x
    return x, df[label].to_numpy()
