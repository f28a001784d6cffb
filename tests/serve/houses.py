"""A house-price data set with a known price function, and models trained on it."""

from __future__ import annotations

import functools

import numpy as np
import orjson
import polars as pl
from sklearn.ensemble import GradientBoostingRegressor

FEATURES = ["rooms", "area", "age", "distance"]
SCHEMA = {"id": "int", "rooms": "float", "area": "float", "age": "float", "distance": "float"}


def houses(n: int, seed: int = 0) -> pl.DataFrame:
    """Price in thousands: a known function of the features plus noise."""
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 8, n).astype(float)
    area = np.round(rng.uniform(30, 250, n), 1)
    age = rng.integers(0, 100, n).astype(float)
    distance = np.round(rng.uniform(0.5, 40, n), 2)
    price = (60 + 25 * rooms + 2.2 * area - 0.8 * age - 4 * np.sqrt(distance) * 3
             + rng.normal(0, 10, n))
    return pl.DataFrame({"id": np.arange(n), "rooms": rooms, "area": area, "age": age,
                         "distance": distance, "price": price})


@functools.cache
def trained(n_estimators: int = 50, max_depth: int = 3, seed: int = 0
            ) -> GradientBoostingRegressor:
    df = houses(4000, seed=123)
    model = GradientBoostingRegressor(n_estimators=n_estimators, max_depth=max_depth,
                                      random_state=seed)
    return model.fit(df.select(FEATURES).to_numpy(), df["price"].to_numpy())


def records(df: pl.DataFrame) -> list[bytes]:
    return [orjson.dumps(r) for r in df.select(["id", *FEATURES]).iter_rows(named=True)]


def onnx_bytes(model, n_features: int = len(FEATURES)) -> bytes:
    from skl2onnx import to_onnx

    return to_onnx(model, np.zeros((1, n_features), dtype=np.float32)).SerializeToString()
