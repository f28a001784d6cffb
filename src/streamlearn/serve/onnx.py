"""ONNX models, scored with ONNX Runtime on one float32 block per batch.

The session is created with its thread settings set explicitly: ``intra_op_num_threads``
(default 1: the stream loop already keeps a core busy, and on a small machine several
workers share the cores) and ``allow_spinning`` off, so an idle session does not burn a
core between batches. Two input layouts are accepted: one 2-D float input with a column
per signature feature (what ``skl2onnx.to_onnx(model, X.astype(np.float32))`` makes), or
one ``[N, 1]`` input per feature, named like the features.

Examples
--------
::

    scorer = OnnxScorer(open("house.onnx", "rb").read(), Signature.of(["rooms", "area"]))
    price = scorer.predict(np.array([[3, 120.0]], dtype=np.float32))[0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamlearn.core.extras import require
from streamlearn.registry.records import Signature
from streamlearn.serve.errors import ModelLoadError, first_line


class OnnxScorer:
    """One ONNX Runtime session and how to feed it."""

    format = "onnx"

    def __init__(
        self, data: bytes, signature: Signature, *, threads: int = 1, spinning: bool = False
    ) -> None:
        ort = require("onnxruntime", extra="serve", feature="sl.ml.predict (ONNX)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
        try:
            self.session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelLoadError(f"not a loadable ONNX model: {first_line(exc)}") from None
        self.signature = signature
        inputs = self.session.get_inputs()
        names = signature.names
        self.block: str | None = None
        if (
            len(inputs) == 1
            and len(inputs[0].shape) == 2
            and _width_ok(inputs[0].shape[1], len(names))
        ):
            if inputs[0].type != "tensor(float)":
                raise ModelLoadError(
                    f"ONNX input {inputs[0].name!r} is {inputs[0].type}; "
                    "streamlearn feeds tensor(float)"
                )
            self.block = inputs[0].name
        elif sorted(i.name for i in inputs) != sorted(names):
            shown = ", ".join(f"{i.name}{list(i.shape)}" for i in inputs)
            raise ModelLoadError(
                f"ONNX inputs ({shown}) do not match the signature's "
                f"{len(names)} features {list(names)}"
            )
        self.columns = {name: j for j, name in enumerate(names)}
        self.outputs = tuple(o.name for o in self.session.get_outputs())
        self._run = self.session.run

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Score a float32 block (rows x signature features): the first output as 1-D
        (the prediction or label) and, for classifiers, the probabilities (or None)."""
        if self.block is not None:
            feed: dict[str, Any] = {self.block: X}
        else:
            feed = {n: X[:, j : j + 1] for n, j in self.columns.items()}
        res = self._run(None, feed)
        first = np.asarray(res[0])
        if first.ndim == 2 and first.shape[1] == 1:
            first = first[:, 0]
        proba = np.asarray(res[1]) if len(res) > 1 and np.ndim(res[1]) == 2 else None
        return first, proba


def _width_ok(width: Any, n: int) -> bool:
    # a symbolic or unknown width (None, "N") accepts any count of features
    return not isinstance(width, int) or width == n


__all__ = ["OnnxScorer"]
