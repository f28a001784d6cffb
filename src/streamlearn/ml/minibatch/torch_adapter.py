"""PyTorch modules trained on mini-batches, their state without pickle, ONNX export.

State: the module's ``state_dict`` (parameters and buffers), the optimizer's
``state_dict`` (moments, step counts, hyperparameters) and the random generator's state.
Tensors become NumPy arrays; the nesting around them (dicts with integer keys, tuples
such as Adam's ``betas``) is written as tagged JSON by :func:`flatten` and read back by
:func:`unflatten`, so ``load_state_dict`` gets exactly what it gave.

Randomness (dropout, random augmentation in ``forward``) draws from the step's own
generator state: each mini-batch runs inside ``torch.random.fork_rng`` with that state
set, and the state after it is kept. Training is then reproducible from a snapshot, and
independent of whatever else in the process uses torch's global generator.

Export: ``torch.onnx.export(..., dynamo=False)``, the TorchScript-based exporter, which
needs nothing beyond torch and ``onnx`` (the dynamo exporter of torch 2.13 needs
``onnxscript``) and writes the same bytes for the same weights. One float input
``input [N, d]``; a classifier (trained with a cross-entropy loss) exports ``label``
(argmax) and ``probabilities`` (softmax), a regressor its output as ``output``.

Examples
--------
>>> import torch
>>> values, arrays = {}, {}
>>> tree = flatten({"state": {0: {"step": torch.tensor(3.0)}}, "betas": (0.9, 0.99)}, arrays)
>>> back = unflatten(tree, arrays)
>>> back["state"][0]["step"].item(), back["betas"]
(3.0, (0.9, 0.99))
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError, StateError
from streamlearn.core.extras import require
from streamlearn.ml.minibatch.base import Adapter, Exported

_CLASSIFY = ("CrossEntropyLoss", "NLLLoss")


def _torch() -> Any:
    return require("torch", extra="torch", feature="sl.ml.train (PyTorch)")


def flatten(obj: Any, arrays: dict[str, np.ndarray], prefix: str = "t.") -> Any:
    """JSON for ``obj`` with its tensors moved into ``arrays`` (see the module doc)."""
    torch = _torch()
    if torch.is_tensor(obj):
        name = f"{prefix}{len(arrays)}"
        arrays[name] = obj.detach().cpu().numpy().copy()
        return {"__tensor": name}
    if isinstance(obj, dict):
        return {"__dict": [[k, flatten(v, arrays, prefix)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple": [flatten(v, arrays, prefix) for v in obj]}
    if isinstance(obj, list):
        return [flatten(v, arrays, prefix) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise StateError(f"cannot snapshot a {type(obj).__name__} in a torch state dict")


def unflatten(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The inverse of :func:`flatten`."""
    torch = _torch()
    if isinstance(obj, dict):
        if "__tensor" in obj:
            return torch.from_numpy(np.array(arrays[obj["__tensor"]]))
        if "__dict" in obj:
            return {k: unflatten(v, arrays) for k, v in obj["__dict"]}
        if "__tuple" in obj:
            return tuple(unflatten(v, arrays) for v in obj["__tuple"])
        raise StateError(f"unknown entry in a torch state snapshot: {sorted(obj)}")
    if isinstance(obj, list):
        return [unflatten(v, arrays) for v in obj]
    return obj


class _Classify:
    """Wraps a classifier for export: ``label`` (argmax) and ``probabilities``."""

    @staticmethod
    def wrap(module: Any, softmax: bool) -> Any:
        torch = _torch()

        class Classify(torch.nn.Module):  # type: ignore[name-defined]
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, x: Any) -> Any:
                out = self.inner(x)
                return torch.argmax(out, dim=1), torch.softmax(out, dim=1) if softmax else out

        return Classify(module)


def export_onnx(module: Any, d: int, *, classify: bool, softmax: bool = True) -> Exported:
    """``module`` (a torch module, or a Keras model on the torch backend) as ONNX; a
    classifier's ``probabilities`` are the softmax of its outputs (``softmax``: logits,
    as cross-entropy trains them) or the outputs themselves."""
    torch = _torch()
    require("onnx", extra="serve", feature="publishing a torch model (ONNX)")
    target = _Classify.wrap(module, softmax) if classify else module
    outputs = ["label", "probabilities"] if classify else ["output"]
    buf = io.BytesIO()
    was_training = getattr(module, "training", False)
    if hasattr(module, "eval"):
        module.eval()
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                target,
                (torch.zeros(1, d, dtype=torch.float32),),
                buf,
                dynamo=False,
                input_names=["input"],
                output_names=outputs,
                dynamic_axes={"input": {0: "N"}, **{o: {0: "N"} for o in outputs}},
                opset_version=17,
            )
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise ConfigError(
            f"torch.onnx.export cannot export {type(module).__name__}: "
            f"{text[0] if text else type(exc).__name__}"
        ) from None
    finally:
        if was_training and hasattr(module, "train"):
            module.train()
    return "onnx", buf.getvalue(), outputs


class TorchAdapter(Adapter):
    """A copy of the template module, its optimizer and loss, and a generator state.

    ``optimizer`` is an optimizer built on the template's parameters (its class and
    ``defaults`` are reused on the copy's), a callable ``params -> optimizer``, or None
    (``Adam(lr=1e-3)``). ``loss`` is a loss module or None: cross-entropy for integer
    labels, mean squared error for real ones (the label reshaped to the output's shape).
    """

    def __init__(self, template: Any, *, optimizer: Any, loss: Any, seed: int) -> None:
        torch = _torch()
        self.module = copy.deepcopy(template)
        params = self.module.parameters()
        if optimizer is None:
            self.optimizer = torch.optim.Adam(params, lr=1e-3)
        elif isinstance(optimizer, torch.optim.Optimizer):
            self.optimizer = type(optimizer)(params, **optimizer.defaults)
        elif callable(optimizer):
            self.optimizer = optimizer(params)
        else:
            raise ConfigError(
                "optimizer= must be a torch optimizer, a callable params -> optimizer"
            )
        self.loss = loss
        self.classify: bool | None = None if loss is None else type(loss).__name__ in _CLASSIFY
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.rng = torch.get_rng_state()
        self.d: int | None = None

    def _loss_fn(self, y: np.ndarray) -> Any:
        torch = _torch()
        if self.classify is None:
            self.classify = y.dtype.kind in "iub"
        if self.loss is None:
            self.loss = torch.nn.CrossEntropyLoss() if self.classify else torch.nn.MSELoss()
        return self.loss

    def fit(self, X: np.ndarray, y: np.ndarray) -> float | None:
        torch = _torch()
        loss_fn = self._loss_fn(y)
        self.d = X.shape[1]
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self.rng)
            self.module.train()
            self.optimizer.zero_grad(set_to_none=True)
            out = self.module(x)
            if self.classify:
                target = torch.from_numpy(y.astype(np.int64))
            else:
                target = torch.from_numpy(y.astype(np.float32))
                if out.ndim == 2 and target.ndim == 1:
                    target = target.reshape(-1, 1).expand_as(out)
            loss = loss_fn(out, target)
            loss.backward()
            self.optimizer.step()
            self.rng = torch.get_rng_state()
        return float(loss.detach())

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        module = flatten(dict(self.module.state_dict()), arrays, "m.")
        optim = flatten(self.optimizer.state_dict(), arrays, "o.")
        arrays["rng"] = self.rng.numpy().copy()
        values = {"module": module, "optimizer": optim, "classify": self.classify, "d": self.d}
        return values, arrays

    def load(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        torch = _torch()
        try:
            self.module.load_state_dict(unflatten(values["module"], arrays))
            self.optimizer.load_state_dict(unflatten(values["optimizer"], arrays))
        except (RuntimeError, ValueError, KeyError) as exc:
            raise StateError(
                f"the snapshot does not fit this torch model: {str(exc).splitlines()[0]}"
            ) from None
        self.rng = torch.from_numpy(np.array(arrays["rng"]))
        self.classify, self.d = values["classify"], values["d"]

    def export(self, features: Sequence[str]) -> Exported:
        return export_onnx(self.module, len(features), classify=bool(self.classify))


__all__ = ["TorchAdapter", "export_onnx", "flatten", "unflatten"]
