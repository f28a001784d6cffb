"""Class labels as indices: any hashable label, kept in order of first appearance."""

from __future__ import annotations

from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError


def as_label_array(y: Any) -> np.ndarray:
    """Labels as a typed NumPy array where possible (``<U``, ``int``, ``bool``...).

    Polars hands a string column to NumPy as an ``object`` array; a model that learned
    ``<U7`` classes must still recognise those labels (issue 8), so object arrays of one
    kind of scalar are converted. Anything else hashable stays ``object``.
    """
    y = np.asarray(y)
    if y.dtype.kind == "O" and y.size:
        typed = np.asarray(y.tolist())
        if typed.dtype.kind != "O" and typed.shape == y.shape:
            return typed
    return y


def encode_labels(classes: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map labels to indices into ``classes``, appending unseen labels in arrival order.

    Any hashable label works; strings and numbers are not mixed (a stream whose labels
    change kind is a configuration error, not a new class).

    >>> classes, idx = encode_labels(np.array(["b"]), np.array(["a", "b", "c", "a"]))
    >>> classes.tolist(), idx.tolist()
    (['b', 'a', 'c'], [1, 0, 2, 1])
    >>> encode_labels(np.array(["b"]), np.array(["b", "a"], dtype=object))[1].tolist()
    [0, 1]
    """
    y = as_label_array(y)
    if (
        classes.size
        and y.size
        and (classes.dtype.kind in "US") != (y.dtype.kind in "US")
        and "O" not in (classes.dtype.kind, y.dtype.kind)
    ):
        raise ConfigError(f"labels mix numbers and strings: known {classes.dtype}, new {y.dtype}")
    if y.dtype.kind == "O" or classes.dtype.kind == "O":
        return _encode_objects(classes, y)
    uniq, first, inv = np.unique(y, return_index=True, return_inverse=True)
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    pos = np.array([lookup.get(u, -1) for u in uniq.tolist()], dtype=np.intp)
    new = np.flatnonzero(pos < 0)
    if new.size:
        new = new[np.argsort(first[new], kind="stable")]
        pos[new] = len(classes) + np.arange(new.size)
        classes = np.concatenate([classes, uniq[new]])
    return classes, pos[inv.reshape(-1)]


def _encode_objects(classes: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`encode_labels` for labels NumPy cannot sort (tuples, mixed objects)."""
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    known = list(classes.tolist())
    idx = np.empty(len(y), dtype=np.intp)
    for i, label in enumerate(y.tolist()):
        j = lookup.get(label)
        if j is None:
            j = lookup[label] = len(known)
            known.append(label)
        idx[i] = j
    out = np.empty(len(known), dtype=object)
    out[:] = known
    return out, idx
