"""Serving: scoring a stream with models from the registry (``sl.ml.predict``).

Loads no Kafka client and no ONNX Runtime at import time (they load when a pipeline
runs and a model is loaded).

Examples
--------
>>> from streamlearn.serve import predict
>>> predict("m").model
'm'
"""

from streamlearn.serve.agreement import Agreement, fold
from streamlearn.serve.errors import ModelLoadError
from streamlearn.serve.predict import NO_MODEL, VERSION_HEADER, Predict, predict

__all__ = [
    "NO_MODEL",
    "VERSION_HEADER",
    "Agreement",
    "ModelLoadError",
    "Predict",
    "fold",
    "predict",
]
