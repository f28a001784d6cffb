"""Training profiles: per-feature statistics of the data a model was trained on.

Stored with each model version, they let the stream be checked against the training
data (outliers, nulls, drift: S5's third design rule) by whoever scores it.

Examples
--------
>>> import polars as pl
>>> p = compute_profile(pl.DataFrame({"x": [1.0, 2.0, None, 4.0]}))
>>> p["rows"], p["features"]["x"]["min"], p["features"]["x"]["null_rate"]
(4, 1.0, 0.25)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

#: the quantiles kept per feature
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def compute_profile(frame: Any, features: Sequence[str] | None = None) -> dict[str, Any]:
    """Statistics of ``frame`` (Polars or pandas DataFrame, or a 2-D NumPy array with
    ``features`` as its column names): per feature count, null rate, min, max, mean,
    std and :data:`QUANTILES`; text columns get their distinct-value count."""
    df = _frame(frame, features)
    cols = list(features) if features is not None else df.columns
    out: dict[str, Any] = {}
    n = df.height
    for c in cols:
        s = df[c]
        nulls = s.null_count() + (s.is_nan().sum() if s.dtype.is_float() else 0)
        stats: dict[str, Any] = {
            "count": n - int(nulls),
            "null_rate": round(float(nulls) / n, 6) if n else 0.0,
        }
        if s.dtype.is_numeric() or s.dtype == pl.Boolean:
            v = s.cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
            if len(v):
                stats.update(
                    min=float(v.min()),
                    max=float(v.max()),
                    mean=float(v.mean()),
                    std=float(v.std()),
                    quantiles={
                        str(q): float(x)
                        for q, x in zip(QUANTILES, np.quantile(v, QUANTILES), strict=True)
                    },
                )
        else:
            stats["distinct"] = int(s.n_unique())
        out[c] = stats
    return {"rows": n, "features": out}


def _frame(frame: Any, features: Sequence[str] | None) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, Mapping):
        return pl.DataFrame(dict(frame))
    if isinstance(frame, np.ndarray):
        if frame.ndim != 2:
            raise ValueError("a profile needs a 2-D array")
        names = list(features) if features is not None else [f"f{i}" for i in range(frame.shape[1])]
        return pl.DataFrame({n: frame[:, i] for i, n in enumerate(names)})
    return pl.from_pandas(frame)  # a pandas DataFrame


__all__ = ["QUANTILES", "compute_profile"]
