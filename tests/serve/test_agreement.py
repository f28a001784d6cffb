"""The agreement accumulator shared by the shadow step and ``streamlearn compare``:
figures against a direct computation, folding partitions, missing values."""

from __future__ import annotations

import numpy as np
import pytest

from streamlearn.serve.agreement import Agreement, fold, task_of


def test_classification_agreement_and_confusion_fold_over_partitions():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 3, 1000), rng.integers(0, 3, 1000)
    parts = []
    for lo, hi in ((0, 300), (300, 1000)):
        acc = Agreement(task_of(a))
        acc.update(a[lo:hi], b[lo:hi])
        parts.append(acc.as_dict())
    got = fold(parts)
    assert got["n"] == 1000 and got["agreed"] == int((a == b).sum())
    assert got["agreement"] == pytest.approx((a == b).mean())
    for i in range(3):
        for j in range(3):
            assert got["confusion"][str(i)].get(str(j), 0) == int(((a == i) & (b == j)).sum())


def test_regression_figures_fold_and_skip_missing_values():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=500), rng.normal(size=500)
    b[7] = np.nan
    keep = ~np.isnan(b)
    d = (b - a)[keep]
    first, second = Agreement("regression"), Agreement("regression")
    first.update(a[:200], b[:200])
    second.update(a[200:], b[200:])
    got = fold([first.as_dict(), second.as_dict()])
    assert got["n"] == keep.sum()
    assert got["mae"] == pytest.approx(np.abs(d).mean())
    assert got["rmse"] == pytest.approx(np.sqrt((d**2).mean()))
    assert got["mean_diff"] == pytest.approx(d.mean())
    assert got["max_abs_diff"] == pytest.approx(np.abs(d).max())


def test_integer_and_float_labels_of_one_class_agree():
    acc = Agreement("classification")
    acc.update(np.array([1.0, 2.0, 0.0]), np.array([1, 3, 0]))
    assert acc.as_dict()["agreed"] == 2


def test_nothing_compared_yet_is_none_not_zero():
    assert Agreement("regression").as_dict()["mae"] is None
    assert Agreement("classification").as_dict()["agreement"] is None
    assert fold([]) == {"n": 0}


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_snapshot_restores_the_figures_and_continues_identically(task):
    """A restored accumulator equals the original, and the two stay equal on more data
    (what a restarted predict step's shadow report relies on)."""
    rng = np.random.default_rng(7)
    if task == "classification":
        a, b = rng.integers(0, 3, 900), rng.integers(0, 3, 900)
    else:
        a, b = rng.normal(size=900), rng.normal(size=900)
        a[::17] = np.nan  # left out on both sides
    original = Agreement(task)
    original.update(a[:400], b[:400])
    restored = Agreement("classification" if task == "regression" else "regression")
    restored.restore(original.snapshot())  # the task comes with the snapshot
    assert restored.task == task and restored.as_dict() == original.as_dict()
    original.update(a[400:], b[400:])
    restored.update(a[400:], b[400:])
    assert restored.as_dict() == original.as_dict()
    whole = Agreement(task)
    whole.update(a, b)
    assert restored.n == whole.n and restored.as_dict()["n"] == whole.as_dict()["n"]
    if task == "classification":
        assert restored.as_dict() == whole.as_dict()  # counts: exact
    else:
        for key in ("mae", "rmse", "mean_diff", "max_abs_diff"):
            assert restored.as_dict()[key] == pytest.approx(whole.as_dict()[key], rel=1e-12)


def test_an_empty_accumulator_round_trips_and_a_foreign_snapshot_is_refused():
    from streamlearn.core.errors import StateError
    from streamlearn.core.state import encode_state

    empty = Agreement("classification")
    again = Agreement("regression")
    again.restore(empty.snapshot())
    nothing = {"task": "classification", "n": 0, "agreed": 0, "agreement": None, "confusion": {}}
    assert again.as_dict() == empty.as_dict() == nothing
    with pytest.raises(StateError, match="cannot restore an Agreement"):
        again.restore(encode_state({"kind": "RegressionMetrics"}))
