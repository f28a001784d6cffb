"""The River codec at the formats layer: names= maps column-index keys (RiverAdapter's)
to text and back, river_params is the state-free fingerprint, the module imports nothing
above formats, and serve/ keeps the names it documented."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from river import cluster, linear_model, optim, preprocessing, tree

import streamlearn.formats.river as codec
from streamlearn.core.errors import ModelLoadError
from streamlearn.formats.river import dump_river, load_river, river_params


def learn(model, rows, target=None):
    for i, x in enumerate(rows):
        model.learn_one(x) if target is None else model.learn_one(x, target(i, x))
    return model


ROWS = [{0: float(i % 7), 1: float(i % 3) - 1.0} for i in range(200)]


@pytest.mark.parametrize(
    "make, fn",
    [
        (
            lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(),
            lambda i, x: x[0] > 3,
        ),
        (lambda: linear_model.PARegressor(), lambda i, x: 2.0 * x[0] - x[1]),
        (lambda: cluster.KMeans(n_clusters=2, seed=3), None),
    ],
    ids=["scaled-logreg", "pa-reg", "kmeans"],
)
def test_column_index_keys_round_trip_through_names(make, fn):
    model = learn(make(), ROWS, fn)
    with pytest.raises(ModelLoadError, match="feature names must be text"):
        dump_river(model)
    blob = dump_river(model, names=["a", "b"])
    assert b'"a"' in blob and b'"b"' in blob
    back = load_river(blob, names=["a", "b"])
    named = load_river(blob)  # without names: the text keys, as a scorer reads them
    for x in ROWS[:50]:
        assert back.predict_one(x) == model.predict_one(x)
        assert named.predict_one({"a": x[0], "b": x[1]}) == model.predict_one(x)
    more = [{0: float(i % 5), 1: 0.5} for i in range(50)]
    learn(model, more, fn)
    learn(back, more, fn)
    assert dump_river(back, names=["a", "b"]) == dump_river(model, names=["a", "b"])


def test_names_must_cover_the_keys():
    model = learn(linear_model.PARegressor(), ROWS, lambda i, x: x[0])
    with pytest.raises(ModelLoadError, match="feature 1 is not a column index below 1"):
        dump_river(model, names=["a"])
    with pytest.raises(ModelLoadError, match=r"features \['b'\] are not among names="):
        load_river(dump_river(model, names=["a", "b"]), names=["a", "z"])


def test_river_params_is_the_state_free_fingerprint():
    fresh = preprocessing.StandardScaler() | linear_model.LogisticRegression(l2=0.1)
    fitted = learn(fresh.clone(), ROWS, lambda i, x: x[0] > 3)
    assert river_params(fitted) == river_params(fresh)
    assert river_params(fresh) != river_params(
        preprocessing.StandardScaler() | linear_model.LogisticRegression(l2=0.2)
    )
    doc = river_params(fresh)
    assert [s[1]["class"] for s in doc["steps"]] == [
        "preprocessing.StandardScaler",
        "linear_model.LogisticRegression",
    ]
    assert "state" not in orjson.dumps(doc).decode()
    with pytest.raises(ModelLoadError, match="HoeffdingTreeClassifier as a River model"):
        river_params(tree.HoeffdingTreeClassifier())
    with pytest.raises(ModelLoadError, match="RMSProp parameter"):
        river_params(linear_model.LinearRegression(optimizer=optim.RMSProp()))
    with pytest.raises(ModelLoadError, match="l1 > 0"):
        river_params(linear_model.LinearRegression(l1=0.1))


def test_formats_imports_nothing_above_it():
    source = Path(codec.__file__).read_text()
    imported = set(re.findall(r"^(?:from|import) streamlearn\.(\w+)", source, re.M))
    assert imported <= {"core"}, imported


def test_serve_keeps_the_documented_names():
    import streamlearn.serve.errors as serve_errors
    import streamlearn.serve.river as serve_river

    for name in ("CLASSES", "dump_river", "load_river", "river_class", "is_river_model"):
        assert getattr(serve_river, name) is getattr(codec, name), name
    assert serve_errors.ModelLoadError is ModelLoadError
