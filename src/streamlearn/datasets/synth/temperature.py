"""A machine's ``temperature`` (scenario S2): JSON ``{time, Temperature}`` readings.

The machine works in :data:`REGIME_LEVELS`: six work regimes, each holding the
temperature near its own level. Which regime runs is a Markov chain over time: a regime
lasts a geometric number of readings (``mean_dwell`` on average), then the machine
switches to another one, chosen at random. A reading is the regime's level plus Gaussian
noise, rounded to an integer and kept within 40..70, so the data is what the scenario
describes (integers 40..70 with unknown regimes) and the true regime of every reading is
known (``regime_true`` in the frame), for tests to compare with.

The levels are 5 degrees apart and the noise is 0.8 degrees, so the regimes are well
separated: the elbow of the k-means cost lies at k = 6, and the k-means labels are a step
function of the temperature that a small network can learn exactly.

Examples
--------
>>> df = generate_temperature_frame(1000, seed=1)
>>> df.columns, df["Temperature"].min() >= 40, df["Temperature"].max() <= 70
(['time', 'Temperature', 'regime_true'], True, True)
>>> generate_temperature(2, seed=1)[0]
b'{"time":"2026-01-01T00:00:00.000","Temperature":43}'
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import polars as pl

#: the temperature each work regime holds, one per regime (the true k is their number)
REGIME_LEVELS = (43.0, 48.0, 53.0, 58.0, 63.0, 68.0)
#: standard deviation of a reading around its regime's level
TEMPERATURE_NOISE = 0.8
#: the bounds of the readings (the scenario's integers 40..70)
TEMPERATURE_RANGE = (40, 70)
#: the record schema of the readings, as ``sl.decode.json`` takes it
TEMPERATURE_SCHEMA = {"time": "timestamp", "Temperature": "int"}

__all__ = [
    "REGIME_LEVELS",
    "TEMPERATURE_NOISE",
    "TEMPERATURE_RANGE",
    "TEMPERATURE_SCHEMA",
    "generate_temperature",
    "generate_temperature_frame",
]


def _regimes(n: int, rng: np.random.Generator, mean_dwell: float) -> np.ndarray:
    """The running regime of each of ``n`` readings: runs of geometric length, each
    followed by a switch to a different regime (vectorised, no loop per reading)."""
    k = len(REGIME_LEVELS)
    runs = int(n / mean_dwell * 2) + 16
    while True:
        lengths = rng.geometric(1.0 / mean_dwell, runs)
        if lengths.sum() >= n:
            break
        runs *= 2
    # a step of 1..k-1 regimes from the previous one: never the same regime twice in a row
    steps = rng.integers(1, k, runs)
    steps[0] = rng.integers(0, k)
    regime = np.cumsum(steps) % k
    return np.repeat(regime, lengths)[:n].astype(np.int32)


def generate_temperature_frame(
    n: int = 50_000,
    *,
    seed: int = 0,
    start: dt.datetime | None = None,
    interval_s: float = 1.0,
    mean_dwell: float = 200.0,
    noise: float = TEMPERATURE_NOISE,
) -> pl.DataFrame:
    """``n`` readings in time order (one every ``interval_s`` seconds), with the true
    regime of each in ``regime_true``."""
    if mean_dwell < 1:
        raise ValueError("mean_dwell must be >= 1 reading")
    rng = np.random.default_rng(seed)
    regime = _regimes(n, rng, mean_dwell) if n > 0 else np.zeros(0, np.int32)
    levels = np.asarray(REGIME_LEVELS)[regime]
    lo, hi = TEMPERATURE_RANGE
    temperature = np.clip(np.rint(levels + rng.normal(0.0, noise, n)), lo, hi).astype(np.int64)
    micros = (np.arange(n) * (interval_s * 1e6)).astype(np.int64)
    base = np.datetime64((start or dt.datetime(2026, 1, 1)).replace(tzinfo=None), "us")
    return pl.DataFrame(
        {
            "time": base + micros.astype("timedelta64[us]"),
            "Temperature": temperature,
            "regime_true": regime,
        }
    )


def generate_temperature(
    n: int = 50_000,
    *,
    seed: int = 0,
    start: dt.datetime | None = None,
    interval_s: float = 1.0,
    mean_dwell: float = 200.0,
) -> list[bytes]:
    """``n`` JSON readings ``{"time": ISO 8601 (ms), "Temperature": int}``."""
    if n <= 0:
        return []
    df = generate_temperature_frame(
        n, seed=seed, start=start, interval_s=interval_s, mean_dwell=mean_dwell
    )
    df = df.select(pl.col("time").dt.strftime("%Y-%m-%dT%H:%M:%S%.3f"), "Temperature")
    buf = io.BytesIO()
    df.write_ndjson(buf)
    return buf.getvalue().split(b"\n")[:n]
