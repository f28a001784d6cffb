"""River models as registry artifacts, without pickle: the ``"river"`` format.

River models are usually saved with pickle, and ``pickle.loads`` of bytes from a topic
runs whatever code the bytes name. This codec writes an allow-listed model as JSON
instead: its class path (``linear_model.LogisticRegression``), its parameters
(``_get_params()``, nested objects such as the optimizer as class path + parameters)
and the state it learned (weights as ``{feature: float}``, intercept, the optimizer's
iteration count that the learning-rate schedule reads, a scaler's counts, means and
variances, a k-means' centres and random state). Loading builds the objects from
:data:`CLASSES` only (names looked up in that table, never imported from the bytes),
then restores the state, so the model predicts what the pushed one predicted and can go
on learning as it would have.

Scoring does not go through ``predict_one`` per record, nor River's ``predict_many``
(a frame per batch, and not every model has it): the allow-listed models are linear in
their features, a standard scaling, or nearest centres, so the scorer compiles the
model into NumPy over the signature's columns (one matrix product per batch).

Supported: ``linear_model.LinearRegression``, ``LogisticRegression`` (optimizer
``optim.SGD``), ``PAClassifier``, ``PARegressor``, ``preprocessing.StandardScaler``
(no ``window_size``), ``cluster.KMeans``, and a ``compose.Pipeline`` of scalers ending in
one of those.

Examples
--------
>>> from river import linear_model, preprocessing
>>> from streamlearn.registry.records import Signature
>>> model = preprocessing.StandardScaler() | linear_model.LinearRegression()
>>> for x, y in [({"a": 1.0}, 2.0), ({"a": 3.0}, 6.0)] * 20:
...     model.learn_one(x, y)
>>> back = load_river(dump_river(model))
>>> back.predict_one({"a": 2.0}) == model.predict_one({"a": 2.0})
True
>>> scorer = RiverScorer(dump_river(model), Signature.of(["a"]))
>>> round(float(scorer.predict(np.array([[2.0]], dtype=np.float32))[0][0]), 6) == round(
...     model.predict_one({"a": 2.0}), 6)
True
>>> load_river(b'{"river": 1, "model": {"class": "os.system", "params": {}}}')
Traceback (most recent call last):
...
streamlearn.serve.errors.ModelLoadError: river artifact names class 'os.system', ...
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from streamlearn.core.extras import require
from streamlearn.registry.records import Signature
from streamlearn.serve.errors import ModelLoadError, first_line

#: class paths (under ``river.``) a river artifact may name: models, and the objects
#: their parameters hold
CLASSES = (
    "linear_model.LinearRegression",
    "linear_model.LogisticRegression",
    "linear_model.PAClassifier",
    "linear_model.PARegressor",
    "preprocessing.StandardScaler",
    "cluster.KMeans",
    "compose.Pipeline",
    "optim.SGD",
    "optim.schedulers.Constant",
    "optim.schedulers.InverseScaling",
    "optim.schedulers.Optimal",
    "optim.losses.Squared",
    "optim.losses.Absolute",
    "optim.losses.Log",
    "optim.losses.Hinge",
    "optim.losses.EpsilonInsensitiveHinge",
    "optim.initializers.Zeros",
    "optim.initializers.Constant",
)
_GLM = ("linear_model.LinearRegression", "linear_model.LogisticRegression")
_PA = ("linear_model.PAClassifier", "linear_model.PARegressor")
_CLASSIFIERS = ("linear_model.LogisticRegression", "linear_model.PAClassifier")


def river_class(path: Any) -> type:
    """The allow-listed River class at ``path`` (:class:`ModelLoadError` else)."""
    if path not in CLASSES:
        raise ModelLoadError(
            f"river artifact names class {path!r}, which is not allow-listed "
            f"(allowed: {', '.join(CLASSES)})"
        )
    module, name = str(path).rsplit(".", 1)
    cls: type = getattr(require(f"river.{module}", extra="river", feature="River models"), name)
    return cls


def _path(obj: Any) -> str:
    for path in CLASSES:
        if type(obj) is river_class(path):
            return path
    raise ModelLoadError(
        f"cannot push a {type(obj).__module__}.{type(obj).__qualname__} as a River model: "
        f"only {', '.join(p for p in CLASSES if not p.startswith('optim'))} are supported"
    )


# -- writing --------------------------------------------------------------------------
def _params(value: Any) -> Any:
    """``_get_params()`` values as JSON: ``(class, params)`` pairs as nodes."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], type):
        cls, params = value
        path = next((p for p in CLASSES if river_class(p) is cls), None)
        if path is None:
            raise ModelLoadError(
                f"cannot push a River model with a {cls.__module__}.{cls.__qualname__} "
                "parameter (not allow-listed)"
            )
        return {"class": path, "params": {k: _params(v) for k, v in params.items()}}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ModelLoadError(f"cannot write the River parameter value {value!r} as JSON")


def _floats(d: Any) -> dict[str, float]:
    out = {}
    for k, v in dict(d).items():
        if not isinstance(k, str):
            raise ModelLoadError(f"River feature names must be text to push, got {k!r}")
        out[k] = float(v)
    return out


def _node(model: Any) -> dict[str, Any]:
    path = _path(model)
    if path == "compose.Pipeline":
        return {"class": path, "steps": [[n, _node(s)] for n, s in model.steps.items()]}
    params = {k: _params(v) for k, v in model._get_params().items()}
    state: dict[str, Any]
    if path in _GLM:
        if type(model.optimizer).__name__ != "SGD":
            raise ModelLoadError("River linear models are supported with optim.SGD only")
        if model.l1:
            raise ModelLoadError("River linear models with l1 > 0 are not supported")
        state = {
            "weights": _floats(model._weights.to_dict()),
            "intercept": float(model.intercept),
            "n_iterations": int(model.optimizer.n_iterations),
            "y_name": model._y_name if isinstance(model._y_name, str) else None,
        }
    elif path in _PA:
        state = {"weights": _floats(model.weights), "intercept": float(model.intercept)}
    elif path == "preprocessing.StandardScaler":
        if model.window_size is not None:
            raise ModelLoadError("River StandardScaler with window_size is not supported")
        state = {
            "counts": {k: int(v) for k, v in model.counts.items()},
            "means": _floats(model.means),
            "vars": _floats(model.vars),
        }
    else:  # cluster.KMeans
        version, internal, gauss = model._rng.getstate()
        state = {
            "centers": [_floats(model.centers[i]) for i in sorted(model.centers)],
            "rng": [version, list(internal), gauss],
        }
    return {"class": path, "params": params, "state": state}


def dump_river(model: Any) -> bytes:
    """A River model as artifact bytes (JSON); :class:`ModelLoadError` for a model or a
    parameter outside the allow-list."""
    return orjson.dumps({"river": 1, "model": _node(model)})


# -- reading --------------------------------------------------------------------------
def _build(value: Any) -> Any:
    if isinstance(value, dict) and "class" in value:
        cls = river_class(value["class"])
        params = value.get("params") or {}
        if not isinstance(params, dict):
            raise ModelLoadError(f"river artifact: parameters of {value['class']} not a mapping")
        return cls(**{k: _build(v) for k, v in params.items()})
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ModelLoadError(f"river artifact: unexpected parameter value {value!r}")


def _model(node: Any) -> Any:
    if not isinstance(node, dict):
        raise ModelLoadError("river artifact: a model must be a JSON object")
    path = node.get("class")
    cls = river_class(path)
    if path == "compose.Pipeline":
        return cls(*[(str(n), _model(s)) for n, s in node.get("steps") or ()])
    if path not in CLASSES[:6]:
        raise ModelLoadError(f"river artifact: {path} is not a model")
    model = _build({"class": path, "params": node.get("params") or {}})
    state = node.get("state") or {}
    if path in _GLM:
        from river import utils

        model._weights = utils.VectorDict(dict(state["weights"]))
        model.intercept = float(state["intercept"])
        model.optimizer.n_iterations = int(state["n_iterations"])
        model._y_name = state.get("y_name")
    elif path in _PA:
        model.weights = collections.defaultdict(float, state["weights"])
        model.intercept = float(state["intercept"])
    elif path == "preprocessing.StandardScaler":
        model.counts = collections.Counter(state["counts"])
        model.means = collections.defaultdict(float, state["means"])
        model.vars = collections.defaultdict(float, state["vars"])
    else:  # cluster.KMeans: centres keep their random initialiser for new features
        for i, centre in enumerate(state["centers"]):
            model.centers[i].update(centre)
        version, internal, gauss = state["rng"]
        model._rng.setstate((int(version), tuple(int(v) for v in internal), gauss))
    return model


def load_river(data: bytes) -> Any:
    """A River model from artifact bytes, through the allow-list (no pickle)."""
    try:
        doc = orjson.loads(data)
        node = doc["model"] if isinstance(doc, dict) and doc.get("river") == 1 else None
    except (orjson.JSONDecodeError, KeyError):
        node = None
    if node is None:
        raise ModelLoadError("not a streamlearn river artifact (JSON with 'river': 1)")
    try:
        return _model(node)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"cannot restore the River model: {first_line(exc)}") from None


# -- scoring --------------------------------------------------------------------------
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
    weights = model._weights.to_dict() if path in _GLM else model.weights
    w = np.array([weights.get(f, 0.0) for f in names])
    b = float(model.intercept)
    if path in _CLASSIFIERS:
        from river.utils.math import sigmoid

        link = model.loss.mean_func if path in _GLM else np.vectorize(sigmoid)

        def classify(X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
            p = np.asarray(link(X @ w + b), dtype=np.float64)
            return p > 0.5, np.column_stack([1.0 - p, p])

        return classify
    mean = model.loss.mean_func if path in _GLM else (lambda z: z)
    return lambda X: (np.asarray(mean(X @ w + b), dtype=np.float64), None)


def compile_river(model: Any, names: tuple[str, ...]) -> Kernel:
    """``predict(float block) -> (prediction, probabilities | None)`` for the model fed
    the columns ``names``, as NumPy (what ``predict_one`` gives, for a whole batch)."""
    path = _path(model)
    steps = list(model.steps.values()) if path == "compose.Pipeline" else [model]
    *transforms, last = steps
    scalers = []
    for t in transforms:
        if _path(t) != "preprocessing.StandardScaler":
            raise ModelLoadError("a River pipeline may only have StandardScaler before its model")
        scalers.append(_scaler(t, names))
    last_path = _path(last)
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
        self.proba = _path(last) in _CLASSIFIERS
        self.outputs = ("prediction", "probabilities") if self.proba else ("prediction",)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self._kernel(np.asarray(X, dtype=np.float64))


def is_river_model(model: Any) -> bool:
    """Whether ``model`` is a River object (pushed with this codec)."""
    return type(model).__module__.split(".")[0] == "river"


__all__ = [
    "CLASSES",
    "RiverScorer",
    "compile_river",
    "dump_river",
    "is_river_model",
    "load_river",
    "river_class",
]
