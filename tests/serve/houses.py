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
    price = (
        60 + 25 * rooms + 2.2 * area - 0.8 * age - 4 * np.sqrt(distance) * 3 + rng.normal(0, 10, n)
    )
    return pl.DataFrame(
        {
            "id": np.arange(n),
            "rooms": rooms,
            "area": area,
            "age": age,
            "distance": distance,
            "price": price,
        }
    )


@functools.cache
def trained(n_estimators: int = 50, max_depth: int = 3, seed: int = 0) -> GradientBoostingRegressor:
    df = houses(4000, seed=123)
    model = GradientBoostingRegressor(
        n_estimators=n_estimators, max_depth=max_depth, random_state=seed
    )
    return model.fit(df.select(FEATURES).to_numpy(), df["price"].to_numpy())


def records(df: pl.DataFrame) -> list[bytes]:
    return [orjson.dumps(r) for r in df.select(["id", *FEATURES]).iter_rows(named=True)]


def onnx_bytes(model, n_features: int = len(FEATURES)) -> bytes:
    from skl2onnx import to_onnx

    return to_onnx(model, np.zeros((1, n_features), dtype=np.float32)).SerializeToString()


def linear_onnx(weights, *, input_names=None, padding_mb: float = 0.0) -> bytes:
    """A hand-built linear ONNX model ``X @ weights``: one block input ``X`` (or one
    ``[N, 1]`` input per name in ``input_names``), optionally carrying ``padding_mb`` of
    extra weights that take part in the result (multiplied by zero), to make it big."""
    from onnx import TensorProto, helper, numpy_helper

    w = np.asarray(weights, dtype=np.float32).reshape(-1, 1)
    nodes, inits = [], [numpy_helper.from_array(w, "W")]
    if input_names:
        inputs = [
            helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 1]) for n in input_names
        ]
        nodes.append(helper.make_node("Concat", list(input_names), ["X"], axis=1))
    else:
        inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", len(w)])]
    nodes.append(helper.make_node("MatMul", ["X", "W"], ["Y0"]))
    last = "Y0"
    if padding_mb:
        big = np.random.default_rng(0).random(int(padding_mb * 2**20 / 4), dtype=np.float32)
        inits += [
            numpy_helper.from_array(big, "BIG"),
            numpy_helper.from_array(np.zeros(1, np.float32), "ZERO"),
        ]
        nodes += [
            helper.make_node("ReduceSum", ["BIG"], ["S"], keepdims=1),
            helper.make_node("Mul", ["S", "ZERO"], ["Z"]),
            helper.make_node("Add", ["Y0", "Z"], ["Y1"]),
        ]
        last = "Y1"
    nodes.append(helper.make_node("Identity", [last], ["variable"]))
    graph = helper.make_graph(
        nodes,
        "linear",
        inputs,
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def shifted(x):
    """A function skops cannot trust (it is not a known type)."""
    return x + 1
