"""Keras 3 models trained on mini-batches (``train_on_batch``), state as arrays.

The template must be compiled (optimizer and loss). Each partition trains a clone:
``keras.models.clone_model``, compiled from the template's compile configuration, with
every variable of the template copied in (weights and the seed generators' states, so
dropout draws the same numbers in every copy). On the torch backend some ops (dropout)
draw from torch's global generator, so, as for torch modules, each mini-batch runs with
the step's own generator state, which is part of the snapshot. Keras keeps all training state in
variables, so the snapshot is the model's ``variables`` and the optimizer's
``variables`` (iteration count, moments), by position, with their shapes checked on
restore (paths differ between clones: Keras names every layer uniquely).

Export needs the torch backend (``KERAS_BACKEND=torch``): there a Keras model is a
``torch.nn.Module`` and goes through the same ONNX exporter as a torch model
(:func:`~streamlearn.ml.minibatch.torch_adapter.export_onnx`); a model with integer labels
and more than one output unit exports ``label`` (argmax) and ``probabilities`` (its
outputs, which a Keras classifier's last activation already makes probabilities).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError, StateError
from streamlearn.core.extras import require
from streamlearn.ml.minibatch.base import Adapter, Exported


def _keras() -> Any:
    return require("keras", extra="keras", feature="sl.ml.train (Keras)")


def check_keras(model: Any) -> None:
    """The template is usable: compiled, with an optimizer and a loss."""
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise ConfigError(
            "sl.ml.train needs a compiled Keras model: call model.compile(optimizer=..., loss=...)"
        )


class KerasAdapter(Adapter):
    """A compiled clone of the template Keras model."""

    def __init__(self, template: Any, *, seed: int = 0) -> None:
        keras = _keras()
        check_keras(template)
        model = keras.models.clone_model(template)
        model.compile_from_config(template.get_compile_config())
        if len(model.variables) != len(template.variables):
            raise ConfigError("the Keras clone does not have the template's variables")
        for mine, theirs in zip(model.variables, template.variables, strict=True):
            mine.assign(theirs.numpy())
        model.optimizer.build(model.trainable_variables)
        self.model = model
        self.integer_labels: bool | None = None
        self.torch = keras.backend.backend() == "torch"
        self.rng: Any = None
        if self.torch:  # some ops (dropout) draw from torch's global generator
            import torch

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.rng = torch.get_rng_state()

    def fit(self, X: np.ndarray, y: np.ndarray) -> float | None:
        if self.integer_labels is None:
            self.integer_labels = y.dtype.kind in "iub"
        if not self.torch:
            loss = self.model.train_on_batch(X.astype(np.float32), y)
        else:
            import torch

            with torch.random.fork_rng(devices=[]):
                torch.set_rng_state(self.rng)
                loss = self.model.train_on_batch(X.astype(np.float32), y)
                self.rng = torch.get_rng_state()
        return float(np.asarray(loss).ravel()[0]) if loss is not None else None

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        paths: dict[str, list[list[int]]] = {"model": [], "optimizer": []}
        for group, variables in (
            ("model", self.model.variables),
            ("optimizer", self.model.optimizer.variables),
        ):
            for i, v in enumerate(variables):
                arrays[f"{group}.{i}"] = np.array(v.numpy())
                paths[group].append(list(v.shape))
        if self.rng is not None:
            arrays["rng"] = self.rng.numpy().copy()
        return {"shapes": paths, "integer_labels": self.integer_labels}, arrays

    def load(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        for group, variables in (
            ("model", self.model.variables),
            ("optimizer", self.model.optimizer.variables),
        ):
            paths = values["shapes"][group]
            if paths != [list(v.shape) for v in variables]:
                raise StateError(
                    f"the snapshot's Keras {group} variables do not match this model "
                    f"({len(paths)} saved, {len(variables)} here)"
                )
            for i, v in enumerate(variables):
                v.assign(arrays[f"{group}.{i}"])
        self.integer_labels = values["integer_labels"]
        if self.torch and "rng" in arrays:
            import torch

            self.rng = torch.from_numpy(np.array(arrays["rng"]))

    def export(self, features: Sequence[str]) -> Exported:
        keras = _keras()
        if keras.backend.backend() != "torch":
            raise ConfigError(
                "publishing a Keras model needs the torch backend (KERAS_BACKEND=torch)"
            )
        from streamlearn.ml.minibatch.torch_adapter import export_onnx

        width = int(self.model.outputs[0].shape[-1]) if getattr(self.model, "outputs", None) else 1
        return export_onnx(
            self.model,
            len(features),
            classify=bool(self.integer_labels) and width > 1,
            softmax=False,  # a Keras classifier ends in its own activation (softmax)
        )


__all__ = ["KerasAdapter", "check_keras"]
