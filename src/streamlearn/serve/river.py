"""River models as registry artifacts, without pickle: the ``"river"`` format.

The artifact is the JSON of :mod:`streamlearn.formats.river` (an allow-listed model's
class path, parameters and learned state; never pickle); ``dump_river``, ``load_river``
and the allow-list ``CLASSES`` live there and are importable from here too.

Scoring does not go through ``predict_one`` per record, nor River's ``predict_many``
(a frame per batch, and not every model has it): the allow-listed models are linear in
their features, a standard scaling, or nearest centres, so the scorer compiles the
model into NumPy over the signature's columns (one matrix product per batch).

Examples
--------
>>> from river import linear_model, preprocessing
>>> from streamlearn.registry.records import Signature
>>> model = preprocessing.StandardScaler() | linear_model.LinearRegression()
>>> for x, y in [({"a": 1.0}, 2.0), ({"a": 3.0}, 6.0)] * 20:
...     model.learn_one(x, y)
>>> scorer = RiverScorer(dump_river(model), Signature.of(["a"]))
>>> round(float(scorer.predict(np.array([[2.0]], dtype=np.float32))[0][0]), 6) == round(
...     model.predict_one({"a": 2.0}), 6)
True
>>> RiverScorer(b'{"river": 1, "model": {"class": "os.system", "params": {}}}',
...             Signature.of(["a"]))
Traceback (most recent call last):
...
streamlearn.core.errors.ModelLoadError: river artifact names class 'os.system', ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from streamlearn.formats.river import (
    CLASSES,
    CLASSIFIERS,
    GLM,
    dump_river,
    is_river_model,
    load_river,
    river_class,
    river_path,
)
from streamlearn.registry.records import Signature
from streamlearn.serve.errors import ModelLoadError

Kernel = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray | None]]


def _scaler(model: Any, names: tuple[str, ...]) -> Callable[[np.ndarray], np.ndarray]:
    means = np.array([model.means.get(f, 0.0) for f in names])
    if not model.with_std:
        return lambda X: X - means
    std = np.sqrt(np.array([model.vars.get(f, 0.0) for f in names]))
    safe = np.where(std > 0, std, 1.0)
    return lambda X: np.where(std > 0, (X - means) / safe, 0.0)


def _final(model: Any, path: str, names: tuple[str, ...]) -> Kernel:
    if path == "cluster.KMeans":
        missing = [f for f in names if any(f not in c for c in model.centers.values())]
        if missing:
            raise ModelLoadError(f"the KMeans model has not seen features {missing}")
        order = sorted(model.centers)
        C = np.array([[model.centers[i][f] for f in names] for i in order])
        # centre coordinates of features the stream does not feed count as |c - 0|^p
        extra = np.array(
            [
                sum(abs(v) ** model.p for k, v in model.centers[i].items() if k not in names)
                for i in order
            ]
        )
        p, labels = model.p, np.array(order)

        def nearest(X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            dist = (np.abs(X[:, None, :] - C[None, :, :]) ** p).sum(axis=2) + extra
            return labels[np.argmin(dist, axis=1)], None

        return nearest
    weights = model._weights.to_dict() if path in GLM else model.weights
    w = np.array([weights.get(f, 0.0) for f in names])
    b = float(model.intercept)
    if path in CLASSIFIERS:
        from river.utils.math import sigmoid

        link = model.loss.mean_func if path in GLM else np.vectorize(sigmoid)

        def classify(X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            p = np.asarray(link(X @ w + b), dtype=np.float64)
            return p > 0.5, np.column_stack([1.0 - p, p])

        return classify
    mean = model.loss.mean_func if path in GLM else (lambda z: z)
    return lambda X: (np.asarray(mean(X @ w + b), dtype=np.float64), None)


def compile_river(model: Any, names: tuple[str, ...]) -> Kernel:
    """``predict(float block) -> (prediction, probabilities | None)`` for the model fed
    the columns ``names``, as NumPy (what ``predict_one`` gives, for a whole batch)."""
    path = river_path(model)
    steps = list(model.steps.values()) if path == "compose.Pipeline" else [model]
    *transforms, last = steps
    scalers = []
    for t in transforms:
        if river_path(t) != "preprocessing.StandardScaler":
            raise ModelLoadError("a River pipeline may only have StandardScaler before its model")
        scalers.append(_scaler(t, names))
    last_path = river_path(last)
    if last_path in ("compose.Pipeline", "preprocessing.StandardScaler"):
        raise ModelLoadError(f"a River pipeline must end in a model, not {last_path}")
    final = _final(last, last_path, names)
    if not scalers:
        return final

    def run(X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        for s in scalers:
            X = s(X)
        return final(X)

    return run


class RiverScorer:
    """An allow-listed River model, compiled to NumPy over the signature's features."""

    format = "river"

    def __init__(self, data: bytes, signature: Signature) -> None:
        self.model = load_river(data)
        self.signature = signature
        self._kernel = compile_river(self.model, signature.names)
        last = list(self.model.steps.values())[-1] if hasattr(self.model, "steps") else self.model
        self.proba = river_path(last) in CLASSIFIERS
        self.outputs = ("prediction", "probabilities") if self.proba else ("prediction",)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self._kernel(np.asarray(X, dtype=np.float64))


__all__ = [
    "CLASSES",
    "RiverScorer",
    "compile_river",
    "dump_river",
    "is_river_model",
    "load_river",
    "river_class",
]
