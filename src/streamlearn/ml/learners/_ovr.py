"""One-vs-rest weight layout of the linear classifiers, and how it grows with new classes.

Linear one-vs-rest learners keep scikit-learn's layout: one row of weights scoring
``classes_[1]`` when there are two classes, one row per class from three on. With a single
class seen so far, the row scores that class (trained with every row as a positive).
A new class is added at the row where it first appears (so batch boundaries never change
the result). Its row is derived exactly where symmetry allows it (the second class, which
has only ever been a negative, is the negation of the first); from the third class on, a
new class starts from the initial weights, without the earlier rows as negatives.
"""

from __future__ import annotations

import numpy as np


def ovr_rows(n_classes: int) -> int:
    """Rows of a one-vs-rest weight matrix: 1 for one or two classes, else one per class."""
    return 1 if n_classes <= 2 else n_classes


def ovr_growth(old: int, new: int) -> tuple[np.ndarray, np.ndarray]:
    """Source row (-1: fresh) and sign of every row after growing ``old`` to ``new`` classes."""
    rows = ovr_rows(new)
    src, sign = np.full(rows, -1, np.intp), np.zeros(rows)
    if old == 1:  # the lone class row; every other class only saw negatives: its negation
        src[:] = 0
        sign[:] = -1.0
        if new > 2:
            sign[0] = 1.0
    elif old == 2:  # binary row w scores classes_[1]; classes_[0] scores -w
        src[:2], sign[:2] = 0, (-1.0, 1.0)
    elif old > 2:
        src[:old], sign[:old] = np.arange(old), 1.0
    return src, sign


def grow_rows(
    arr: np.ndarray, src: np.ndarray, sign: np.ndarray | None, fill: np.ndarray | float
) -> np.ndarray:
    """Rebuild ``arr`` (rows first) along an :func:`ovr_growth` plan; ``sign=None``: copy."""
    out = np.empty((len(src), *arr.shape[1:]))
    out[...] = fill
    has = src >= 0
    if has.any():
        moved = arr[src[has]]
        if sign is not None:
            moved = moved * sign[has].reshape((-1,) + (1,) * (arr.ndim - 1))
        out[has] = moved
    return out


def ovr_targets(idx: np.ndarray, n_classes: int) -> np.ndarray:
    """±1 targets ``(n, rows)`` of the one-vs-rest problems for class indices ``idx``."""
    if n_classes == 1:
        return np.ones((idx.shape[0], 1))
    if n_classes == 2:
        return np.where(idx == 1, 1.0, -1.0)[:, None]
    return np.where(idx[:, None] == np.arange(n_classes), 1.0, -1.0)


def ovr_predict(scores: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Labels from one-vs-rest scores ``(n, rows)``."""
    if len(classes) == 1:
        return classes[np.zeros(scores.shape[0], np.intp)]
    if len(classes) == 2:
        return classes[(scores[:, 0] > 0).astype(np.intp)]
    return classes[scores.argmax(axis=1)]


def ovr_decision(scores: np.ndarray, n_classes: int) -> np.ndarray:
    return scores[:, 0] if n_classes == 2 else scores


def ovr_proba(positive: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities from per-row probabilities of the positive side ``(n, rows)``."""
    n = positive.shape[0]
    if n_classes == 1:
        return np.ones((n, 1))
    if n_classes == 2:
        return np.column_stack([1.0 - positive[:, 0], positive[:, 0]])
    total = positive.sum(axis=1, keepdims=True)
    return np.divide(positive, total, out=np.full_like(positive, 1.0 / n_classes), where=total > 0)
