"""The adapter contract: one model kind (torch, Keras, ``partial_fit``) trained on
mini-batches, its whole training state as JSON values plus NumPy arrays, and an export
the serving side can load.

An adapter is built fresh for each partition from the operator's template (the template
itself is never trained). Its state holds everything the next mini-batch depends on:
the weights, the optimizer's moments and step counts, and the random generator (dropout),
so an adapter restored from :meth:`Adapter.state` trains the next mini-batch exactly as
the original would have. :func:`adapter_for` picks the adapter for a model without
importing a framework the user did not import.

Examples
--------
>>> from sklearn.linear_model import SGDRegressor
>>> kind_of(SGDRegressor())
'learner'
>>> kind_of(object())  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
streamlearn.core.errors.ConfigError: sl.ml.train cannot train a object: give a torch.nn.Module, ...
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.ml.publish import Exported


class Adapter(ABC):
    """One partition's trainable model."""

    #: labels must be numbers (torch and Keras; scikit-learn takes any label)
    numeric_labels: bool = True

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray) -> float | None:
        """Train on one mini-batch (``X`` float64 ``(n, d)``, ``y`` ``(n,)``); the loss
        when the framework reports one."""

    @abstractmethod
    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Everything training depends on, for :func:`~streamlearn.core.state.encode_state`."""

    @abstractmethod
    def load(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state` returned into this fresh adapter."""

    @abstractmethod
    def export(self, features: Sequence[str]) -> Exported:
        """The current model as a registry artifact (ONNX, or a learner snapshot)."""


def _instance_of(model: Any, module: str, attr: str) -> bool:
    """``isinstance(model, module.attr)`` if ``module`` is already imported (a model of a
    framework means the user imported it; nothing is imported here)."""
    mod = sys.modules.get(module)
    if mod is None:
        return False
    cls: Any = mod
    for part in attr.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            return False
    return isinstance(model, cls)


def kind_of(model: Any) -> str:
    """``"keras"``, ``"torch"`` or ``"learner"`` (a scikit-learn ``partial_fit`` estimator
    or a streamlearn learner); :class:`ConfigError` for anything else. Keras comes first:
    on the torch backend a Keras model is also a ``torch.nn.Module``."""
    if _instance_of(model, "keras", "Model"):
        return "keras"
    if _instance_of(model, "torch", "nn.Module"):
        return "torch"
    if hasattr(model, "partial_fit") or hasattr(model, "learn_batch"):
        return "learner"
    raise ConfigError(
        f"sl.ml.train cannot train a {type(model).__name__}: give a torch.nn.Module, a "
        "compiled Keras model, a scikit-learn estimator with partial_fit or a streamlearn learner"
    )


def adapter_for(kind: str, model: Any, *, optimizer: Any, loss: Any, seed: int) -> Adapter:
    """A fresh adapter of ``kind`` for the template ``model``."""
    if kind == "torch":
        from streamlearn.ml.minibatch.torch_adapter import TorchAdapter

        return TorchAdapter(model, optimizer=optimizer, loss=loss, seed=seed)
    if kind == "keras":
        from streamlearn.ml.minibatch.keras_adapter import KerasAdapter

        return KerasAdapter(model, seed=seed)
    from streamlearn.ml.minibatch.sklearn_adapter import LearnerAdapter

    return LearnerAdapter(model)


__all__ = ["Adapter", "Exported", "adapter_for", "kind_of"]
