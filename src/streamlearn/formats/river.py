"""River models <-> JSON bytes, without pickle (pure functions, no operator, no scorer).

River models are usually saved with pickle, and ``pickle.loads`` of bytes from a topic
runs whatever code the bytes name. This codec writes an allow-listed model as JSON
instead: its class path (``linear_model.LogisticRegression``), its parameters
(``_get_params()``, nested objects such as the optimizer as class path + parameters)
and the state it learned (weights as ``{feature: float}``, intercept, the optimizer's
iteration count that the learning-rate schedule reads, a scaler's counts, means and
variances, a k-means' centres and random state). Loading builds the objects from
:data:`CLASSES` only (names looked up in that table, never imported from the bytes),
then restores the state, so the model predicts what the saved one predicted and can go
on learning as it would have.

Two users, so it sits below both: the registry's ``"river"`` artifacts (pushed with
:func:`streamlearn.registry.push`, scored by :mod:`streamlearn.serve.river`) and the
snapshots of :class:`~streamlearn.ml.learners.RiverAdapter`, whose model is fed column
indices (``names=`` maps them to the text keys JSON needs).

Supported: ``linear_model.LinearRegression``, ``LogisticRegression`` (optimizer
``optim.SGD``), ``PAClassifier``, ``PARegressor``, ``preprocessing.StandardScaler``
(no ``window_size``), ``cluster.KMeans``, and a ``compose.Pipeline`` of scalers ending in
one of those.

Examples
--------
>>> from river import linear_model, preprocessing
>>> model = preprocessing.StandardScaler() | linear_model.LinearRegression()
>>> for x, y in [({"a": 1.0}, 2.0), ({"a": 3.0}, 6.0)] * 20:
...     model.learn_one(x, y)
>>> back = load_river(dump_river(model))
>>> back.predict_one({"a": 2.0}) == model.predict_one({"a": 2.0})
True
>>> load_river(b'{"river": 1, "model": {"class": "os.system", "params": {}}}')
Traceback (most recent call last):
...
streamlearn.core.errors.ModelLoadError: river artifact names class 'os.system', ...
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import Any

import orjson

from streamlearn.core.errors import ModelLoadError, first_line
from streamlearn.core.extras import require

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
#: the models among :data:`CLASSES` (the rest are what their parameters hold)
MODELS = tuple(p for p in CLASSES if not p.startswith("optim"))
#: linear models with an SGD optimizer (``_weights``), and the passive-aggressive ones
GLM = ("linear_model.LinearRegression", "linear_model.LogisticRegression")
PA = ("linear_model.PAClassifier", "linear_model.PARegressor")
CLASSIFIERS = ("linear_model.LogisticRegression", "linear_model.PAClassifier")

#: ``names=``: feature names written for a model fed column indices (index i as names[i])
Names = Sequence[str] | None


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


def river_path(obj: Any) -> str:
    """The allow-list path of ``obj``'s class (:class:`ModelLoadError` when it has none)."""
    for path in CLASSES:
        if type(obj) is river_class(path):
            return path
    raise ModelLoadError(
        f"cannot save a {type(obj).__module__}.{type(obj).__qualname__} as a River model: "
        f"only {', '.join(MODELS)} are supported"
    )


def is_river_model(model: Any) -> bool:
    """Whether ``model`` is a River object (saved with this codec)."""
    return type(model).__module__.split(".")[0] == "river"


# -- writing --------------------------------------------------------------------------
def _params(value: Any) -> Any:
    """``_get_params()`` values as JSON: ``(class, params)`` pairs as nodes."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], type):
        cls, params = value
        path = next((p for p in CLASSES if river_class(p) is cls), None)
        if path is None:
            raise ModelLoadError(
                f"cannot save a River model with a {cls.__module__}.{cls.__qualname__} "
                "parameter (not allow-listed)"
            )
        return {"class": path, "params": {k: _params(v) for k, v in params.items()}}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ModelLoadError(f"cannot write the River parameter value {value!r} as JSON")


def _key(k: Any, names: Names) -> str:
    if names is None:
        if not isinstance(k, str):
            raise ModelLoadError(f"River feature names must be text to save, got {k!r}")
        return k
    if not isinstance(k, int) or not 0 <= k < len(names):
        raise ModelLoadError(f"River feature {k!r} is not a column index below {len(names)}")
    return names[k]


def _floats(d: Any, names: Names) -> dict[str, float]:
    return {_key(k, names): float(v) for k, v in dict(d).items()}


def _check(model: Any, path: str) -> None:
    """Refuse the settings of an allow-listed class that the codec does not write."""
    if path in GLM:
        if type(model.optimizer).__name__ != "SGD":
            raise ModelLoadError("River linear models are supported with optim.SGD only")
        if model.l1:
            raise ModelLoadError("River linear models with l1 > 0 are not supported")
    elif path == "preprocessing.StandardScaler" and model.window_size is not None:
        raise ModelLoadError("River StandardScaler with window_size is not supported")


def _node(model: Any, names: Names) -> dict[str, Any]:
    path = river_path(model)
    if path == "compose.Pipeline":
        steps = [[n, _node(s, names)] for n, s in model.steps.items()]
        return {"class": path, "steps": steps}
    params = {k: _params(v) for k, v in model._get_params().items()}
    _check(model, path)
    state: dict[str, Any]
    if path in GLM:
        state = {
            "weights": _floats(model._weights.to_dict(), names),
            "intercept": float(model.intercept),
            "n_iterations": int(model.optimizer.n_iterations),
            "y_name": model._y_name if isinstance(model._y_name, str) else None,
        }
    elif path in PA:
        state = {"weights": _floats(model.weights, names), "intercept": float(model.intercept)}
    elif path == "preprocessing.StandardScaler":
        state = {
            "counts": {_key(k, names): int(v) for k, v in model.counts.items()},
            "means": _floats(model.means, names),
            "vars": _floats(model.vars, names),
        }
    else:  # cluster.KMeans
        version, internal, gauss = model._rng.getstate()
        state = {
            "centers": [_floats(model.centers[i], names) for i in sorted(model.centers)],
            "rng": [version, list(internal), gauss],
        }
    return {"class": path, "params": params, "state": state}


def dump_river(model: Any, *, names: Names = None) -> bytes:
    """A River model as JSON bytes; :class:`ModelLoadError` for a model or a parameter
    outside the allow-list. ``names``: the feature names to write for a model fed
    column indices (``{0: x0, 1: x1}``); without it, feature keys must be text."""
    return orjson.dumps({"river": 1, "model": _node(model, names)})


def river_params(model: Any) -> dict[str, Any]:
    """The classes and parameters of a (pipeline of) allow-listed model(s), as JSON
    values without learned state: what a restore target must match. Raises
    :class:`ModelLoadError` for what :func:`dump_river` would refuse, without reading
    any learned state."""
    path = river_path(model)
    if path == "compose.Pipeline":
        return {"class": path, "steps": [[n, river_params(s)] for n, s in model.steps.items()]}
    params = {k: _params(v) for k, v in model._get_params().items()}
    _check(model, path)
    return {"class": path, "params": params}


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


def _keyed(d: dict[str, Any], index: dict[str, int] | None) -> dict[Any, Any]:
    if index is None:
        return dict(d)
    unknown = [k for k in d if k not in index]
    if unknown:
        raise ModelLoadError(f"river artifact: features {unknown} are not among names=")
    return {index[k]: v for k, v in d.items()}


def _model(node: Any, index: dict[str, int] | None) -> Any:
    if not isinstance(node, dict):
        raise ModelLoadError("river artifact: a model must be a JSON object")
    path = node.get("class")
    cls = river_class(path)
    if path == "compose.Pipeline":
        return cls(*[(str(n), _model(s, index)) for n, s in node.get("steps") or ()])
    if path not in MODELS:
        raise ModelLoadError(f"river artifact: {path} is not a model")
    model = _build({"class": path, "params": node.get("params") or {}})
    state = node.get("state") or {}
    if path in GLM:
        from river import utils

        model._weights = utils.VectorDict(_keyed(state["weights"], index))
        model.intercept = float(state["intercept"])
        model.optimizer.n_iterations = int(state["n_iterations"])
        model._y_name = state.get("y_name")
    elif path in PA:
        model.weights = collections.defaultdict(float, _keyed(state["weights"], index))
        model.intercept = float(state["intercept"])
    elif path == "preprocessing.StandardScaler":
        model.counts = collections.Counter(_keyed(state["counts"], index))
        model.means = collections.defaultdict(float, _keyed(state["means"], index))
        model.vars = collections.defaultdict(float, _keyed(state["vars"], index))
    else:  # cluster.KMeans: centres keep their random initialiser for new features
        for i, centre in enumerate(state["centers"]):
            model.centers[i].update(_keyed(centre, index))
        version, internal, gauss = state["rng"]
        model._rng.setstate((int(version), tuple(int(v) for v in internal), gauss))
    return model


def load_river(data: bytes, *, names: Names = None) -> Any:
    """A River model from :func:`dump_river` bytes, through the allow-list (no pickle);
    ``names``: read those feature names back as the column indices they were written for."""
    try:
        doc = orjson.loads(data)
        node = doc["model"] if isinstance(doc, dict) and doc.get("river") == 1 else None
    except (orjson.JSONDecodeError, KeyError):
        node = None
    if node is None:
        raise ModelLoadError("not a streamlearn river artifact (JSON with 'river': 1)")
    index = None if names is None else {n: i for i, n in enumerate(names)}
    try:
        return _model(node, index)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"cannot restore the River model: {first_line(exc)}") from None


__all__ = [
    "CLASSES",
    "CLASSIFIERS",
    "GLM",
    "MODELS",
    "PA",
    "dump_river",
    "is_river_model",
    "load_river",
    "river_class",
    "river_params",
    "river_path",
]
