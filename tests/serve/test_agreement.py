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
