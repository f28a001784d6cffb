"""Conformance checks every learner must pass (like scikit-learn's ``parametrize_with_checks``).

Run them all with :func:`check_learner`, or one test per check::

    @pytest.mark.parametrize("learner, check", [
        pytest.param(learner, check, id=f"{learner!r}-{name}")
        for learner in LEARNERS for name, check in learner_checks(learner)])
    def test_conformance(learner, check):
        check(learner)

A check never mutates the learner it is given: it works on clones. Failures raise
``AssertionError`` with a message naming the learner.

Examples
--------
>>> from streamlearn.ml.learners import PassiveAggressive
>>> check_learner(PassiveAggressive())
>>> from streamlearn.ml.learners import PassiveAggressiveRegressor
>>> [name for name, _ in learner_checks(PassiveAggressiveRegressor())][:3]
['check_clone', 'check_not_fitted', 'check_learn_and_shapes']
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import numpy as np

from streamlearn.core.errors import ConfigError, NotFittedError, StateError
from streamlearn.ml.base import jsonable
from streamlearn.ml.learners.base import Learner

Check = Callable[[Learner], None]
_CENTERS = np.array([[0.0, 0.0, 0.0, 0.0], [4.0, 4.0, 0.0, 0.0], [0.0, 4.0, 4.0, -4.0]])


def make_data(
    role: str, n: int = 150, *, labels: tuple = ("a", "b", "c"), seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Small synthetic stream: Gaussian blobs (a classifier's) or a noisy linear target."""
    rng = np.random.default_rng(seed)
    if role == "classifier":
        idx = rng.integers(0, len(labels), n)
        X = _CENTERS[idx % len(_CENTERS)] + rng.normal(0.0, 0.7, (n, 4))
        return X, np.asarray(labels)[idx]
    X = rng.normal(size=(n, 4))
    return X, X @ np.array([1.5, -2.0, 0.5, 0.0]) + 1.0 + rng.normal(0.0, 0.1, n)


def _outputs(learner: Learner, X: np.ndarray) -> dict[str, np.ndarray]:
    out = {"predict": learner.predict_batch(X)}
    tags = learner.tags()
    if tags.decision:
        out["decision"] = learner.decision_batch(X)
    if tags.proba:
        out["proba"] = learner.predict_proba_batch(X)
    return out


def _assert_same(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray], who: Learner, what: str, exact: bool = True
) -> None:
    for key in a:
        if exact or a[key].dtype.kind not in "fc":
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{who!r}: {what} ({key})")
        else:
            np.testing.assert_allclose(
                a[key], b[key], rtol=1e-9, atol=1e-12, err_msg=f"{who!r}: {what} ({key})"
            )


def check_clone(learner: Learner) -> None:
    """``clone()`` gives a distinct, unfitted learner with equal parameters."""
    X, y = make_data(learner.role)
    fitted = learner.clone().learn_batch(X, y)
    for source in (learner, fitted):
        twin = source.clone()
        assert twin is not source, f"{learner!r}: clone returned the same object"
        assert type(twin) is type(source)
        assert jsonable(twin.get_params()) == jsonable(source.get_params()), (
            f"{learner!r}: clone changed the parameters"
        )
        try:
            twin.predict_batch(X[:2])
        except NotFittedError:
            pass
        else:
            raise AssertionError(f"{learner!r}: a clone of a fitted learner is fitted")


def check_not_fitted(learner: Learner) -> None:
    """Predicting before learning raises NotFittedError (also a ValueError)."""
    X, _ = make_data(learner.role, 5)
    fresh = learner.clone()
    methods = [fresh.predict_batch]
    methods += [fresh.decision_batch] if fresh.tags().decision else []
    methods += [fresh.predict_proba_batch] if fresh.tags().proba else []
    for method in methods:
        try:
            method(X)
        except NotFittedError as exc:
            assert isinstance(exc, ValueError)
        else:
            raise AssertionError(f"{learner!r}: {method.__name__} before learning did not raise")


def check_learn_and_shapes(learner: Learner) -> None:
    """``learn_batch`` returns self; outputs have the documented shapes; counters add up."""
    X, y = make_data(learner.role)
    model = learner.clone()
    assert model.learn_batch(X, y) is model, f"{learner!r}: learn_batch must return self"
    assert model.n_seen_ == len(y) and 0 <= model.n_updates_ <= model.n_seen_, (
        f"{learner!r}: n_seen_={model.n_seen_}, n_updates_={model.n_updates_}"
    )
    out = _outputs(model, X)
    assert out["predict"].shape == (len(y),)
    if model.role == "classifier":
        assert set(out["predict"].tolist()) <= set(model.classes_.tolist())
        assert set(model.classes_.tolist()) == set(y.tolist())
        k = len(model.classes_)
        if "decision" in out:
            assert out["decision"].shape == ((len(y),) if k == 2 else (len(y), k))
        if "proba" in out:
            proba = out["proba"]
            assert proba.shape == (len(y), k) and (proba >= 0).all() and (proba <= 1).all()
            np.testing.assert_allclose(
                proba.sum(axis=1), 1.0, rtol=1e-6, err_msg=f"{learner!r}: proba rows must sum to 1"
            )
    else:
        assert np.isfinite(out["predict"]).all()


def check_empty_batch(learner: Learner) -> None:
    """An empty batch is a no-op, before and after learning."""
    X, y = make_data(learner.role)
    model = learner.clone()
    assert model.learn_batch(X[:0], y[:0]) is model
    assert not model._is_fitted(), f"{learner!r}: an empty batch made the learner fitted"
    model.learn_batch(X, y)
    before, seen = _outputs(model, X), model.n_seen_
    model.learn_batch(np.empty((0, X.shape[1])), y[:0])
    assert model.n_seen_ == seen
    _assert_same(before, _outputs(model, X), learner, "an empty batch changed predictions")


def check_nan_rows(learner: Learner) -> None:
    """Rows with a NaN feature or a missing target are skipped; NaN never crashes predict."""
    X, y = make_data(learner.role)
    dirty_X, dirty_y = X.copy(), y.astype(object)
    bad_x, bad_y = np.arange(3, len(y), 17), np.arange(5, len(y), 23)
    dirty_X[bad_x, 1] = np.nan
    dirty_y[bad_y] = None if learner.role == "classifier" else np.nan
    if learner.role == "regressor":
        dirty_y = dirty_y.astype(np.float64)
    keep = np.ones(len(y), bool)
    keep[bad_x] = keep[bad_y] = False
    clean = learner.clone().learn_batch(X[keep], y[keep])
    dirty = learner.clone().learn_batch(dirty_X, dirty_y)
    assert dirty.n_seen_ == keep.sum(), f"{learner!r}: NaN rows were counted as learned"
    _assert_same(_outputs(clean, X), _outputs(dirty, X), learner, "NaN rows were learned")
    preds = dirty.predict_batch(dirty_X)
    assert preds.shape == (len(y),), f"{learner!r}: predict on NaN rows"


def check_unseen_labels(learner: Learner) -> None:
    """A label first seen mid-stream grows the class set (or is skipped, never a crash)."""
    X, y = make_data("classifier", 300, labels=(0, 1, 2))
    first = y[:100] < 2
    model = learner.clone().learn_batch(X[:100][first], y[:100][first])
    assert set(model.classes_.tolist()) == {0, 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for _ in range(3):
            model.learn_batch(X[100:], y[100:])
    preds = model.predict_batch(X)
    assert set(preds.tolist()) <= set(model.classes_.tolist())
    if not model.tags().grows_classes:
        assert 2 not in model.classes_.tolist()
        return
    assert model.classes_.tolist()[-1] == 2, f"{learner!r}: class 2 was not added"
    recall = float((preds[y == 2] == 2).mean())
    assert recall > 0.5, f"{learner!r}: the new class is not learned (recall {recall:.2f})"


#: label sets every classifier must accept: strings, integers, booleans (any hashable works)
LABEL_SETS: tuple[tuple, ...] = (("class_0", "class_1", "class_2"), (0, 1, 2), (False, True))


def check_label_types(learner: Learner) -> None:
    """String, integer and boolean labels all work, also given as an object array (as
    Polars hands a string column to NumPy), and predictions are labels of that type."""
    for labels in LABEL_SETS:
        X, y = make_data("classifier", labels=labels)
        for as_given in (y, y.astype(object)):
            model = learner.clone().learn_batch(X[:60], as_given[:60])
            model.learn_batch(X[60:], as_given[60:])  # a second batch after the first
            out = _outputs(model, X)
            got = set(out["predict"].tolist())
            assert got <= set(labels), f"{learner!r}: predicted {got} for labels {labels}"
            assert {type(v) for v in out["predict"].tolist()} <= {type(v) for v in labels}, (
                f"{learner!r}: predictions of labels {labels} changed type"
            )
            assert set(model.classes_.tolist()) == set(labels)
            if "proba" in out:
                assert out["proba"].shape == (len(X), len(labels))


def check_deterministic(learner: Learner) -> None:
    """Two clones fed the same batches predict identically."""
    X, y = make_data(learner.role)
    a, b = learner.clone(), learner.clone()
    for part in np.array_split(np.arange(len(y)), 3):
        a.learn_batch(X[part], y[part])
        b.learn_batch(X[part], y[part])
    _assert_same(_outputs(a, X), _outputs(b, X), learner, "not deterministic")


def check_snapshot_roundtrip(learner: Learner) -> None:
    """snapshot() -> restore() on a fresh clone gives identical predictions, now and later."""
    X, y = make_data(learner.role, 200)
    model = learner.clone().learn_batch(X[:120], y[:120])
    if not learner.tags().snapshot:
        try:
            model.snapshot()
        except StateError:
            return
        raise AssertionError(f"{learner!r}: tags().snapshot is False but snapshot worked")
    blob = model.snapshot()
    assert isinstance(blob, bytes)
    twin = learner.clone()
    twin.restore(blob)
    _assert_same(_outputs(model, X), _outputs(twin, X), learner, "restored model differs")
    model.learn_batch(X[120:], y[120:])
    twin.learn_batch(X[120:], y[120:])
    _assert_same(_outputs(model, X), _outputs(twin, X), learner, "differs after restore+learn")
    empty = learner.clone()
    empty.restore(learner.clone().snapshot())
    assert not empty._is_fitted(), f"{learner!r}: restoring an unfitted snapshot fitted it"


def check_chunk_invariance(learner: Learner) -> None:
    """Learning a batch equals learning it in consecutive chunks (batch-invariant learners)."""
    X, y = make_data(learner.role, 200)
    whole = learner.clone().learn_batch(X, y)
    chunked = learner.clone()
    for part in np.split(np.arange(len(y)), [1, 8, 38, 120]):
        chunked.learn_batch(X[part], y[part])
    assert chunked.n_seen_ == whole.n_seen_
    _assert_same(
        _outputs(whole, X),
        _outputs(chunked, X),
        learner,
        "chunked learning differs from whole-batch learning",
        exact=False,
    )


def check_bad_input(learner: Learner) -> None:
    """Malformed batches raise ConfigError (a ValueError) with a message, not a crash."""
    X, y = make_data(learner.role)
    model = learner.clone().learn_batch(X, y)
    for bad in (
        lambda: model.learn_batch(X[:, :2], y),
        lambda: model.learn_batch(X, y[:3]),
        lambda: model.predict_batch(X[:, :3]),
        lambda: model.predict_batch(X[0]),
    ):
        try:
            bad()
        except ConfigError as exc:
            assert isinstance(exc, ValueError) and str(exc)
        else:
            raise AssertionError(f"{learner!r}: a malformed batch was accepted")


def learner_checks(learner: Learner) -> Iterator[tuple[str, Check]]:
    """The ``(name, check)`` pairs that apply to ``learner``; call ``check(learner)``."""
    checks: list[Check] = [
        check_clone,
        check_not_fitted,
        check_learn_and_shapes,
        check_empty_batch,
        check_nan_rows,
        check_deterministic,
        check_snapshot_roundtrip,
        check_bad_input,
    ]
    tags = learner.tags()
    if tags.role == "classifier":
        checks += [check_unseen_labels, check_label_types]
    if tags.batch_invariant:
        checks.append(check_chunk_invariance)
    for check in checks:
        yield check.__name__, check


def check_learner(learner: Learner, role: str | None = None) -> None:
    """Run every applicable check; ``role`` (if given) must match ``learner.tags().role``."""
    if role is not None and role != learner.tags().role:
        raise AssertionError(f"{learner!r} is a {learner.tags().role}, not a {role}")
    for _, check in learner_checks(learner):
        check(learner)
