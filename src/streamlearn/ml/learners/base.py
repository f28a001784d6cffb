"""The learner protocol: online models that learn from and predict on NumPy batches.

A :class:`Learner` is the unit the runtime builds once per partition (or key) with
:meth:`Learner.clone`. Batches are columnar: ``X`` is a ``(n, d)`` float array, ``y`` a
``(n,)`` array of labels (ints or strings) or values. The contract, checked for every
shipped learner by :mod:`streamlearn.ml.checks`:

- ``__init__`` only stores keyword hyperparameters; they are validated when learning
  starts (:class:`~streamlearn.core.errors.ConfigError`). Learned state lives in
  attributes ending in ``_`` that do not exist before the first learned row.
- ``learn_batch`` learns rows in order. Rows with a non-finite feature (NaN, ±inf) or a
  missing label (NaN, None) are skipped: not learned, not counted in ``n_seen_``.
  An empty batch is a no-op.
- ``predict_batch`` raises :class:`~streamlearn.core.errors.NotFittedError` before any row
  was learned; non-finite features are read as 0 so a bad row never crashes a batch.
- Classifiers grow their class set when a new label arrives (``classes_`` keeps labels in
  order of first appearance).
- ``snapshot()`` returns bytes from :func:`~streamlearn.core.state.encode_state` (never a
  pickle); ``restore(blob)`` on a fresh clone gives identical predictions.

One-vs-rest layout
------------------
Linear one-vs-rest learners keep scikit-learn's layout: one row of weights scoring
``classes_[1]`` when there are two classes, one row per class from three on. With a single
class seen so far, the row scores that class (trained with every row as a positive).
A new class is added at the row where it first appears (so batch boundaries never change
the result). Its row is derived exactly where symmetry allows it (the second class, which
has only ever been a negative, is the negation of the first); from the third class on, a
new class starts from the initial weights, without the earlier rows as negatives.
"""

from __future__ import annotations

import copy
import inspect
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np

from streamlearn.core.errors import ConfigError, NotFittedError, StateError
from streamlearn.core.state import decode_state, encode_state

_BASE_VALUES = ("n_features_in_", "n_seen_", "n_updates_")


class Learner(ABC):
    """Base class of every online learner (columnar ``learn_batch`` / ``predict_batch``).

    Subclasses implement ``_init_state(d)``, ``_learn(X, y)`` and ``_predict(X)``; classifiers
    also ``_grow(old, new)`` and, when they have them, ``_decision`` and ``_proba``.
    ``_state_arrays`` / ``_state_values`` name the learned attributes a snapshot holds.

    Attributes
    ----------
    n_seen_ : int
        Rows learned (skipped rows excluded).
    n_updates_ : int
        Rows that changed the model (see each learner for how exactly it is counted).
    n_features_in_ : int
        Width of ``X`` fixed by the first learned batch.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlearn.ml.learners import PassiveAggressive
    >>> model = PassiveAggressive().learn_batch(np.array([[1.0], [-1.0]]), np.array(["up", "down"]))
    >>> model.predict_batch(np.array([[2.0], [-3.0]])).tolist()
    ['up', 'down']
    """

    task: str = "classification"
    supports_snapshot: ClassVar[bool] = True
    sequential: bool = True
    has_decision: bool = False
    has_proba: bool = False
    grows_classes: bool = True
    _encodes_labels: ClassVar[bool] = True
    _state_arrays: ClassVar[tuple[str, ...]] = ()
    _state_values: ClassVar[tuple[str, ...]] = ()

    # -- parameters ------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind not in skip]

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters, read from the ``__init__`` signature."""
        return {name: getattr(self, name) for name in self._param_names()}

    def clone(self) -> Learner:
        """A fresh, unfitted learner with the same hyperparameters."""
        return type(self)(**{k: copy.deepcopy(v) for k, v in self.get_params().items()})

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = [f"{k}={v!r}" for k, v in self.get_params().items()
                 if sig.parameters[k].default is inspect.Parameter.empty
                 or not _same(v, sig.parameters[k].default)]
        return f"{type(self).__name__}({', '.join(shown)})"

    def _validate_params(self) -> None:
        """Raise ConfigError on bad hyperparameters (called by ``learn_batch``)."""
        return None

    def prepare(self) -> None:
        """Load what learning will need (heavy imports), before the stream starts, so the
        first batch does not pay for it; called when an operator builds its step."""
        return None

    # -- learning --------------------------------------------------------------------
    def _is_fitted(self) -> bool:
        return getattr(self, "n_seen_", 0) > 0

    @property
    def fitted(self) -> bool:
        """True once a row was learned (before that, ``predict_batch`` raises)."""
        return self._is_fitted()

    def learn_batch(self, X: Any, y: Any) -> Learner:
        """Learn the rows of ``X`` (``(n, d)``) with targets ``y`` (``(n,)``), in row order."""
        self._validate_params()
        X, y = _check_xy(X, y, getattr(self, "n_features_in_", None))
        if X.shape[0] == 0:
            return self
        X, y = _clean_rows(X, y)
        if X.shape[0] == 0:
            return self
        if not self._is_fitted():
            self.n_features_in_ = X.shape[1]
            self.n_seen_ = 0
            self.n_updates_ = 0
            if self.task == "classification" and self._encodes_labels:
                self.classes_ = np.empty(0, dtype=y.dtype)
            self._init_state(X.shape[1])
        if self.task == "classification" and self._encodes_labels:
            self._learn_growing(X, y)
        else:
            self._learn(X, _as_float(y) if self.task == "regression" else y)
        self.n_seen_ += X.shape[0]
        return self

    def _learn_growing(self, X: np.ndarray, y: np.ndarray) -> None:
        """Learn class indices, adding each new class at the row where it first appears.

        So the result does not depend on where the stream was cut into batches.
        """
        classes, idx = encode_labels(self.classes_, y)
        old = len(self.classes_)
        newer = np.flatnonzero(idx >= old)
        _, first = np.unique(idx[newer], return_index=True)
        prev = 0
        for k, start in enumerate(newer[first].tolist(), start=old):
            if start > prev:
                self._learn(X[prev:start], idx[prev:start])
            self.classes_ = classes[: k + 1]
            self._grow(k, k + 1)
            prev = start
        self._learn(X[prev:], idx[prev:])

    @abstractmethod
    def _init_state(self, d: int) -> None: ...

    @abstractmethod
    def _learn(self, X: np.ndarray, y: np.ndarray) -> None: ...

    def _grow(self, old: int, new: int) -> None:
        """Make room for classes ``old .. new-1`` (classifiers)."""
        return None

    # -- prediction ------------------------------------------------------------------
    def _check_predict(self, X: Any) -> np.ndarray:
        if not self._is_fitted():
            raise NotFittedError(
                f"{type(self).__name__} has not learned any row yet: call learn_batch first")
        X, _ = _check_xy(X, None, self.n_features_in_)
        if X.shape[0] == 0:
            return np.empty((0, self.n_features_in_))
        finite = np.isfinite(X)
        return X if finite.all() else np.where(finite, X, 0.0)

    def predict_batch(self, X: Any) -> np.ndarray:
        """Class labels (classifiers) or values (regressors), shape ``(n,)``."""
        return self._predict(self._check_predict(X))

    def decision_batch(self, X: Any) -> np.ndarray:
        """Scores: ``(n,)`` for two classes (positive means ``classes_[1]``), else ``(n, K)``."""
        if not self.has_decision:
            raise NotImplementedError(f"{type(self).__name__} has no decision scores")
        return self._decision(self._check_predict(X))

    def predict_proba_batch(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, K)``, columns in the order of ``classes_``."""
        if not self.has_proba:
            raise NotImplementedError(f"{type(self).__name__} does not predict probabilities")
        return self._proba(self._check_predict(X))

    @abstractmethod
    def _predict(self, X: np.ndarray) -> np.ndarray: ...

    def _decision(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- state -----------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The learned state as bytes (:func:`~streamlearn.core.state.encode_state`)."""
        if not self.supports_snapshot:
            raise StateError(f"{type(self).__name__} does not support snapshots")
        values: dict[str, Any] = {"learner": type(self).__name__,
                                  "params": jsonable(self.get_params()), "state": {}}
        arrays: dict[str, np.ndarray] = {}
        for name in _BASE_VALUES + self._state_values:
            if hasattr(self, name):
                values["state"][name] = jsonable(getattr(self, name))
        for name in self._state_arrays:
            if getattr(self, name, None) is not None:
                arrays[name] = getattr(self, name)
        self._snapshot_extra(values, arrays)
        return encode_state(values, arrays)

    def restore(self, blob: bytes) -> None:
        """Load a :meth:`snapshot` into this (fresh) learner; raises StateError on mismatch."""
        if not self.supports_snapshot:
            raise StateError(f"{type(self).__name__} does not support snapshots")
        try:
            values, arrays = decode_state(blob)
        except StateError:
            raise
        except Exception as exc:
            raise StateError(f"corrupt learner snapshot: {exc}") from exc
        name = type(self).__name__
        if values.get("learner") != name:
            raise StateError(f"snapshot of a {values.get('learner')!r} cannot restore a {name}")
        if values.get("params") != jsonable(self.get_params()):
            raise StateError(f"snapshot was taken with other hyperparameters than {self!r}: "
                             f"{values.get('params')}; restore it into a clone of that learner")
        for attr in _BASE_VALUES + self._state_values + self._state_arrays:
            self.__dict__.pop(attr, None)
        for attr, value in values["state"].items():
            setattr(self, attr, value)
        for attr in self._state_arrays:
            if attr in arrays:
                setattr(self, attr, arrays[attr])
        self._restore_extra(values, arrays)

    def _snapshot_extra(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Hook: add learner-specific state."""
        return None

    def _restore_extra(self, values: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Hook: read learner-specific state."""
        return None


# -- helpers ----------------------------------------------------------------------------
def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:  # arrays and other odd values
        return False


def jsonable(value: Any) -> Any:
    """A JSON-able fingerprint of a value (non-finite floats and objects become text)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if hasattr(value, "get_params"):
        return {"class": type(value).__qualname__,
                "params": jsonable(value.get_params(deep=False))}
    return {"class": type(value).__qualname__}


def _check_xy(X: Any, y: Any, d: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    X = np.asarray(X, dtype=np.float64)
    if X.size == 0:
        X = X.reshape(0, d if d is not None else (X.shape[-1] if X.ndim == 2 else 0))
    if X.ndim != 2:
        raise ConfigError(f"X must be a 2-D array (n rows, d features); got shape {X.shape}")
    if d is not None and X.shape[0] and X.shape[1] != d:
        raise ConfigError(f"X has {X.shape[1]} features but the learner was fitted with {d}")
    if y is None:
        return np.ascontiguousarray(X), None
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ConfigError(f"y must be 1-D with one target per row of X ({X.shape[0]}); "
                          f"got shape {y.shape}")
    return np.ascontiguousarray(X), y


def _clean_rows(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(X).all(axis=1)
    if y.dtype.kind == "f":
        keep &= ~np.isnan(y)
    elif y.dtype.kind == "O":
        keep &= np.array([v is not None and v == v for v in y.tolist()], dtype=bool)
    if not keep.all():
        X, y = X[keep], y[keep]
    if y.dtype.kind == "O":
        y = np.asarray(y.tolist())
        if y.dtype.kind == "O":
            raise ConfigError("labels must be all numbers or all strings")
    return X, y


def _as_float(y: np.ndarray) -> np.ndarray:
    try:
        return y.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"regression targets must be numbers: {exc}") from exc


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
    if classes.size and y.size and (classes.dtype.kind in "US") != (y.dtype.kind in "US") \
            and "O" not in (classes.dtype.kind, y.dtype.kind):
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


def grow_rows(arr: np.ndarray, src: np.ndarray, sign: np.ndarray | None,
              fill: np.ndarray | float) -> np.ndarray:
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
    return np.divide(positive, total, out=np.full_like(positive, 1.0 / n_classes),
                     where=total > 0)


def run_sequential(n: int, scan: Callable[[int, int], np.ndarray],
                   update: Callable[[int], bool]) -> int:
    """Drive a per-row online algorithm over ``n`` rows; returns how many rows changed it.

    ``scan(i, j)`` says, vectorised, which rows of ``i:j`` would update the model as it is
    now; rows before the first such row are passive and skipped in one go. ``update(i)``
    applies row ``i`` exactly (recomputing its loss) and says whether the model changed.
    The result equals visiting every row in order; it is just faster when most rows are
    passive (a good model).
    """
    i, block, changed = 0, 8, 0
    while i < n:
        stop = min(n, i + block)
        hits = np.flatnonzero(scan(i, stop))
        if hits.size == 0:
            i, block = stop, min(block * 2, 4096)
            continue
        j = i + int(hits[0])
        changed += bool(update(j))
        i, block = j + 1, max(8, block // 4)
    return changed


@contextmanager
def quiet_sklearn() -> Iterator[None]:
    """Silence scikit-learn's FutureWarning / DeprecationWarning noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def check_choice(owner: object, name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{type(owner).__name__}: {name} must be one of {allowed}; "
                          f"got {value!r}")


def check_positive(owner: object, name: str, value: Any, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) \
        and not math.isnan(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        rule = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{type(owner).__name__}: {name} must be a number {rule}; "
                          f"got {value!r}")
