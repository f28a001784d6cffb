"""A trained classifier as ONNX, checked against scikit-learn before anyone serves it.

skl2onnx converts the fitted pipeline (scaler and network) with ``zipmap=False`` (labels
and a probability matrix, not a list of dicts: what ``sl.ml.predict`` reads, and much
faster); ONNX Runtime then scores the same rows scikit-learn scored, on the float32 block
the stream will feed, and the labels are compared. A model that would serve other answers
than it was evaluated with is caught here, not in production.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LogisticRegression
>>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
>>> clf = LogisticRegression().fit(X, y)
>>> data = to_onnx_bytes(clf, n_features=1)
>>> onnx_labels(data, X).tolist(), clf.predict(X).tolist()
([0, 0, 1, 1], [0, 0, 1, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.core.extras import require

__all__ = ["onnx_labels", "to_onnx_bytes"]


def to_onnx_bytes(model: Any, *, n_features: int) -> bytes:
    """The ONNX model of a fitted scikit-learn classifier (or pipeline ending in one),
    with one float32 input block of ``n_features`` columns."""
    skl2onnx = require("skl2onnx", extra="serve", feature="the ONNX export of a trained model")
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    try:
        onx = skl2onnx.to_onnx(
            model,
            np.zeros((1, n_features), dtype=np.float32),
            options={id(final): {"zipmap": False}},
            target_opset={"": 17, "ai.onnx.ml": 3},
        )
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else repr(exc)
        raise ConfigError(f"skl2onnx cannot convert {type(final).__name__}: {first}") from None
    return bytes(onx.SerializeToString())


def onnx_labels(data: bytes, X: np.ndarray) -> np.ndarray:
    """The labels ONNX Runtime gives for the rows ``X`` (fed as float32, as a stream is)."""
    ort = require("onnxruntime", extra="serve", feature="checking the ONNX export")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    label = session.run([session.get_outputs()[0].name], {name: X.astype(np.float32)})[0]
    return np.asarray(label).ravel()
