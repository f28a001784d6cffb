"""A ``trades`` stream: JSON ``{time, sym, bid, ask}`` records.

bid/ask come from a mixture of three Gaussian clusters (``TRADE_CENTERS``), so online
k-means has something true to find. Generation is vectorised (NumPy + Polars' NDJSON
writer): half a million records in well under a second.

Examples
--------
>>> recs = generate_trades(3, seed=1)
>>> sorted(__import__("orjson").loads(recs[0]))
['ask', 'bid', 'sym', 'time']
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import polars as pl

#: the generating means of (bid, ask), one row per cluster
TRADE_CENTERS = np.array([[100.0, 101.0], [110.0, 111.5], [120.0, 121.0]])
#: standard deviation of bid and ask around their centre
TRADE_STD = 1.0
SYMBOLS = ("AAPL", "MSFT", "GOOG")
#: the record schema of the generated trades, as ``sl.decode.json`` takes it
TRADES_SCHEMA = {"time": "timestamp", "sym": "symbol", "bid": "float", "ask": "float"}

__all__ = [
    "SYMBOLS",
    "TRADES_SCHEMA",
    "TRADE_CENTERS",
    "TRADE_STD",
    "generate_trades",
    "generate_trades_frame",
]


def generate_trades_frame(
    n: int,
    *,
    seed: int = 0,
    start: dt.datetime | None = None,
    rate_per_s: float = 10_000.0,
    symbols: tuple[str, ...] = SYMBOLS,
) -> pl.DataFrame:
    """``n`` trades in time order, with the true cluster in ``cluster_true``."""
    rng = np.random.default_rng(seed)
    start = start or dt.datetime(2026, 1, 1)
    cluster = rng.integers(0, len(TRADE_CENTERS), n)
    points = TRADE_CENTERS[cluster] + rng.normal(0.0, TRADE_STD, (n, 2))
    micros = (np.arange(n) * (1e6 / rate_per_s)).astype(np.int64)
    base = np.datetime64(start.replace(tzinfo=None), "us")
    return pl.DataFrame(
        {
            "time": (base + micros.astype("timedelta64[us]")),
            "sym": np.asarray(symbols)[rng.integers(0, len(symbols), n)],
            "bid": points[:, 0].round(4),
            "ask": points[:, 1].round(4),
            "cluster_true": cluster.astype(np.int32),
        }
    )


def generate_trades(
    n: int,
    *,
    seed: int = 0,
    start: dt.datetime | None = None,
    rate_per_s: float = 10_000.0,
    symbols: tuple[str, ...] = SYMBOLS,
) -> list[bytes]:
    """``n`` JSON trade records (``time`` as ISO 8601 with microseconds)."""
    if n <= 0:
        return []
    df = generate_trades_frame(n, seed=seed, start=start, rate_per_s=rate_per_s, symbols=symbols)
    df = df.select(pl.col("time").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"), "sym", "bid", "ask")
    buf = io.BytesIO()
    df.write_ndjson(buf)
    lines = buf.getvalue().split(b"\n")
    return lines[:n]
