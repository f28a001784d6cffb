"""RiverAdapter snapshots through the pickle-free River codec: a restored clone predicts
and goes on learning exactly as the original, for every allow-listed model kind; other
River models refuse in one line that names them and the supported ones."""

from __future__ import annotations

import numpy as np
import pytest
from river import linear_model, multiclass, optim, preprocessing, tree

from streamlearn.core.errors import ConfigError, StateError
from streamlearn.core.state import decode_state, encode_state
from streamlearn.ml import checks
from streamlearn.ml.learners import RiverAdapter
from streamlearn.registry.artifact import to_artifact
from streamlearn.serve.loader import load_scorer
from tests.formats.river_models import MODELS as ALL_MODELS

#: the supervised ones (the adapter wraps classifiers and regressors)
MODELS = {name: spec for name, spec in ALL_MODELS.items() if spec[1] != "none"}


def data(n: int, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal([1.0, -2.0, 5.0], [1.0, 3.0, 0.5], (n, 3))
    t = 3.0 * X[:, 0] - 0.5 * X[:, 1] + 2.0 * X[:, 2] - 9.0 + rng.normal(0.0, 0.3, n)
    return X, (t > 0) if kind == "clf" else t


def outputs(model: RiverAdapter, X: np.ndarray) -> list[np.ndarray]:
    out = [model.predict_batch(X)]
    if model.tags().proba:
        out.append(model.predict_proba_batch(X))
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_restore_on_a_fresh_clone_predicts_and_learns_identically(name):
    make, kind = MODELS[name]
    template = RiverAdapter(make())
    assert template.tags().snapshot
    X, y = data(600, kind, 1)
    model = template.clone().learn_batch(X[:300], y[:300])
    twin = template.clone()
    twin.restore(model.snapshot())
    assert twin.n_seen_ == model.n_seen_ == 300 and twin.n_updates_ == model.n_updates_
    assert twin.n_features_in_ == 3
    if kind == "clf":
        assert twin.classes_.tolist() == model.classes_.tolist()
    for a, b in zip(outputs(model, X), outputs(twin, X), strict=True):
        np.testing.assert_array_equal(a, b)
    # learning goes on from the same state: same predictions, same snapshot bytes
    for part in (slice(300, 301), slice(301, 450), slice(450, 600)):
        model.learn_batch(X[part], y[part])
        twin.learn_batch(X[part], y[part])
    for a, b in zip(outputs(model, X), outputs(twin, X), strict=True):
        np.testing.assert_array_equal(a, b)
    assert twin.snapshot() == model.snapshot()
    # and equals a model that never stopped (the snapshot lost nothing)
    straight = template.clone().learn_batch(X, y)
    for a, b in zip(outputs(straight, X), outputs(twin, X), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["linreg", "scaled-linreg", "pa-reg"])
def test_allow_listed_regressors_pass_the_conformance_checks(name):
    checks.check_learner(RiverAdapter(MODELS[name][0]()))


def test_an_unfitted_snapshot_restores_an_unfitted_adapter():
    template = RiverAdapter(linear_model.LogisticRegression())
    empty = template.clone()
    empty.restore(template.clone().snapshot())
    assert not empty.fitted and not hasattr(empty, "model_")


@pytest.mark.parametrize(
    "model",
    [tree.HoeffdingTreeClassifier(), multiclass.OneVsRestClassifier(linear_model.PAClassifier())],
    ids=lambda m: type(m).__name__,
)
def test_a_model_outside_the_allow_list_refuses_in_one_line(model):
    adapter = RiverAdapter(model)
    assert not adapter.tags().snapshot
    X, y = data(50, "clf", 2)
    fitted = adapter.learn_batch(X, y)
    for call in (fitted.snapshot, lambda: adapter.clone().restore(b"")):
        with pytest.raises(StateError) as err:
            call()
        text = str(err.value)
        assert f"RiverAdapter cannot snapshot its {type(model).__name__} without pickle" in text
        assert "linear_model.LogisticRegression" in text and "compose.Pipeline" in text
        assert "\n" not in text


def test_unsupported_settings_of_an_allowed_class_are_named():
    adapter = RiverAdapter(linear_model.LinearRegression(optimizer=optim.Adam()))
    assert not adapter.tags().snapshot
    with pytest.raises(StateError, match=r"its LinearRegression without pickle: .*Adam"):
        adapter.learn_batch(*data(20, "reg", 3)).snapshot()


def test_restore_refuses_another_model_or_other_parameters_and_stays_unfitted():
    X, y = data(200, "clf", 4)
    blob = RiverAdapter(linear_model.LogisticRegression(l2=0.1)).learn_batch(X, y).snapshot()
    for other in (
        RiverAdapter(linear_model.LogisticRegression(l2=0.2)),
        RiverAdapter(preprocessing.StandardScaler() | linear_model.LogisticRegression(l2=0.1)),
    ):
        with pytest.raises(StateError, match="another River model or other parameters"):
            other.restore(blob)
        assert not other.fitted and not hasattr(other, "model_")
    with pytest.raises(StateError, match="'SklearnPartialFit' cannot restore a RiverAdapter"):
        RiverAdapter(linear_model.LogisticRegression()).restore(
            encode_state({"learner": "SklearnPartialFit", "params": {}, "state": {}})
        )


def test_a_corrupt_model_in_the_snapshot_is_a_state_error():
    X, y = data(100, "reg", 5)
    values, arrays = decode_state(
        RiverAdapter(linear_model.PARegressor()).learn_batch(X, y).snapshot()
    )
    arrays["river"] = np.frombuffer(b'{"river": 1, "model": {"class": "os.system"}}', np.uint8)
    twin = RiverAdapter(linear_model.PARegressor())
    with pytest.raises(StateError, match=r"corrupt RiverAdapter snapshot: .*'os\.system'"):
        twin.restore(encode_state(values, arrays))
    assert not twin.fitted


@pytest.mark.parametrize("name", ["scaled-logreg", "pa-reg"])
def test_a_fitted_adapter_pushes_as_a_river_artifact_with_the_feature_names(name):
    make, kind = MODELS[name]
    X, y = data(300, kind, 6)
    adapter = RiverAdapter(make()).learn_batch(X, y)
    fmt, blob, sig, _ = to_artifact(adapter, signature=["a", "b", "c"])
    assert fmt == "river" and sig.names == ("a", "b", "c")
    pred, _ = load_scorer(fmt, blob, sig).predict(X.astype(np.float32))
    want = adapter.predict_batch(X.astype(np.float32).astype(np.float64))
    if kind == "clf":
        assert pred.tolist() == want.tolist()
    else:
        np.testing.assert_allclose(pred, want, rtol=1e-9, atol=1e-9)
    with pytest.raises(ConfigError, match="its 3 feature names"):
        to_artifact(adapter, signature=["a", "b"])
