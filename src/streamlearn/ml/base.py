"""The model protocol: one base class, four roles, one way to declare capabilities.

Everything that learns and predicts or transforms is a :class:`Model`, usable offline on
NumPy arrays like an estimator and wrapped by streaming operators (which know about
batches and Kafka; models know nothing of records). As in scikit-learn, ``__init__``
only stores keyword hyperparameters, :meth:`Model.get_params` reads them from the
signature and :meth:`Model.clone` copies a model unfitted (once per partition or key);
learned state lives in attributes ending in ``_``. As in River, a model has a *role*,
given by the mixin it inherits:

=================  =========================================================
:class:`Classifier`  ``learn_batch(X, y)``, ``predict_batch(X)`` -> labels
:class:`Regressor`   ``learn_batch(X, y)``, ``predict_batch(X)`` -> values
:class:`Clusterer`   ``learn_batch(X)``, ``predict_batch(X)`` -> cluster index
:class:`Transformer` ``learn_batch(X)``, ``transform_batch(X)`` -> same-shape array
=================  =========================================================

Capabilities are declared one way only: :meth:`Model.tags` returns a frozen
:class:`Tags` (scikit-learn's ``__sklearn_tags__``); a model that has more overrides it
with ``dataclasses.replace(super().tags(), proba=True)``. Code that asks what a model can
do calls ``model.tags()``, never ``hasattr``.

Examples
--------
>>> from streamlearn.ml.learners import PassiveAggressive, PassiveAggressiveRegressor
>>> PassiveAggressive().tags().role, PassiveAggressiveRegressor().tags().role
('classifier', 'regressor')
>>> is_classifier(PassiveAggressive()), PassiveAggressive().tags().decision
(True, True)
"""

from __future__ import annotations

import copy
import inspect
import math
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np

ROLES = ("classifier", "regressor", "clusterer", "transformer")
_M = TypeVar("_M", bound="Model")


@dataclass(frozen=True)
class Tags:
    """What a model can do (read by operators and by :mod:`streamlearn.ml.checks`).

    Attributes
    ----------
    role
        One of :data:`ROLES`.
    proba
        Has ``predict_proba_batch`` (classifiers).
    decision
        Has ``decision_batch`` (classifiers).
    batch_invariant
        Learning a batch equals learning it in consecutive chunks (the result does not
        depend on where the stream was cut into micro-batches).
    grows_classes
        Learns a label first seen mid-stream (classifiers).
    snapshot
        ``snapshot()`` / ``restore()`` work (pickle-free state).
    """

    role: str
    proba: bool = False
    decision: bool = False
    batch_invariant: bool = True
    grows_classes: bool = False
    snapshot: bool = True


class Model:
    """Base of every model: parameters from the signature, clone, repr, tags.

    Subclasses also inherit a role mixin (:class:`Classifier`, :class:`Regressor`,
    :class:`Clusterer`, :class:`Transformer`) that sets :attr:`role`.
    """

    #: the model's role, set by its role mixin (one of :data:`ROLES`)
    role: ClassVar[str] = ""

    def tags(self) -> Tags:
        """The model's capabilities; override with ``replace(super().tags(), ...)``."""
        return Tags(role=self.role)

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind not in skip]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, read from the ``__init__`` signature."""
        return {name: getattr(self, name) for name in self._param_names()}

    def clone(self: _M) -> _M:
        """A fresh, unfitted model with the same hyperparameters."""
        return type(self)(**{k: copy.deepcopy(v) for k, v in self.get_params().items()})

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = [
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if sig.parameters[k].default is inspect.Parameter.empty
            or not _same(v, sig.parameters[k].default)
        ]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _validate_params(self) -> None:
        """Raise ConfigError on bad hyperparameters (called when learning starts)."""
        return None

    def prepare(self) -> None:
        """Load what learning will need (heavy imports), before the stream starts, so the
        first batch does not pay for it; called when an operator builds its step."""
        return None


class Classifier:
    """Role mixin: predicts labels; classes grow as new labels arrive."""

    role: ClassVar[str] = "classifier"

    def tags(self) -> Tags:
        from dataclasses import replace

        return replace(super().tags(), grows_classes=True)  # type: ignore[misc]


class Regressor:
    """Role mixin: predicts real values."""

    role: ClassVar[str] = "regressor"


class Clusterer:
    """Role mixin: assigns each row to a cluster (``learn_batch(X)``, no target)."""

    role: ClassVar[str] = "clusterer"


class Transformer:
    """Role mixin: maps rows to rows of the same shape (``transform_batch(X)``)."""

    role: ClassVar[str] = "transformer"


def is_classifier(model: Any) -> bool:
    return isinstance(model, Model) and model.tags().role == "classifier"


def is_regressor(model: Any) -> bool:
    return isinstance(model, Model) and model.tags().role == "regressor"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:  # arrays and other odd values
        return False


def jsonable(value: Any) -> Any:
    """A JSON-able fingerprint of a value (non-finite floats and objects become text)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if hasattr(value, "get_params"):
        return {"class": type(value).__qualname__, "params": jsonable(value.get_params(deep=False))}
    return {"class": type(value).__qualname__}


__all__ = [
    "ROLES",
    "Classifier",
    "Clusterer",
    "Model",
    "Regressor",
    "Tags",
    "Transformer",
    "is_classifier",
    "is_regressor",
    "jsonable",
]
