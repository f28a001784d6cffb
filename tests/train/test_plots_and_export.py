"""The PNGs (drawn off-screen with Agg) and the ONNX export with its check."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

import streamlearn as sl
from streamlearn.train.classifier import train_mlp
from streamlearn.train.export import onnx_labels, to_onnx_bytes
from streamlearn.train.plots import confusion_png, elbow_png


def test_pngs_are_written_where_asked(tmp_path):
    elbow = elbow_png({2: 90.0, 3: 12.0, 4: 10.0}, chosen=3, path=tmp_path / "a" / "e.png")
    conf = confusion_png([[50, 1], [0, 49]], path=tmp_path / "c.png", labels=["cool", "hot"])
    assert elbow == tmp_path / "a" / "e.png"
    assert matplotlib.image.imread(elbow).shape[:2] == (420, 700)
    assert matplotlib.image.imread(conf).shape[:2] == (480, 550)


def test_the_mlp_pipeline_exports_with_the_same_labels():
    X = np.repeat(np.arange(40.0, 71.0), 20)[:, None]
    y = (X.ravel() >= 55).astype(int) + (X.ravel() >= 65).astype(int)
    model, epochs = train_mlp(X, y, max_epochs=80, seed=1)
    assert 1 <= epochs <= 80
    data = to_onnx_bytes(model, n_features=1)
    assert (onnx_labels(data, X) == model.predict(X)).all()


class Opaque(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


def test_a_model_skl2onnx_cannot_convert_is_a_config_error():
    model = Opaque().fit(np.zeros((2, 1)), [0, 1])
    with pytest.raises(sl.ConfigError, match="skl2onnx cannot convert Opaque"):
        to_onnx_bytes(model, n_features=1)
