"""Prequential (test-then-train) metrics, updated per batch with NumPy.

Each metric object keeps two views of the stream: *since start* (running counts and
sums) and a *window* of the last ``window`` examples (a ring buffer of arrays, evaluated
when :meth:`as_dict` is called). Rows whose true value is missing (NaN, None) are
ignored. :meth:`as_dict` returns plain JSON-able values, ``None`` where a metric is
undefined (no data, a class never predicted, constant targets for R²...).
Snapshots use :func:`~streamlearn.core.state.encode_state` (no pickle).

Examples
--------
>>> import numpy as np
>>> m = ClassificationMetrics(window=3)
>>> m.update(np.array(["a", "b", "a", "a"]), np.array(["a", "b", "b", "a"]))
>>> m.as_dict()["accuracy"], m.as_dict()["window"]["accuracy"]
(0.75, 0.6666666666666666)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError, StateError
from streamlearn.core.state import decode_state, encode_state
from streamlearn.ml._labels import encode_labels

_CLIP = 1e-15


def _check_window(owner: object, window: Any) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ConfigError(f"{type(owner).__name__}: window must be an int >= 1; got {window!r}")
    return int(window)


def _known(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return ~np.isnan(values)
    if values.dtype.kind == "O":
        return np.array([v is not None and v == v for v in values.tolist()], dtype=bool)
    return np.ones(values.shape[0], dtype=bool)


def _ring_write(buf: np.ndarray, pos: int, values: np.ndarray) -> int:
    """Write ``values`` into ring buffer ``buf`` at ``pos``; return the next position."""
    size = buf.shape[0]
    if values.shape[0] >= size:
        buf[:] = values[-size:]
        return 0
    idx = (pos + np.arange(values.shape[0])) % size
    buf[idx] = values
    return int((pos + values.shape[0]) % size)


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den else None


class ClassificationMetrics:
    """Accuracy, per-class precision/recall/F1, macro F1 and log-loss of a stream.

    Parameters
    ----------
    window : int
        Size of the rolling window (last examples).

    Notes
    -----
    Per-class F1 is ``2 TP / (2 TP + FP + FN)``; macro F1 averages it over the classes
    present (as truth or prediction) in the data considered, like
    ``sklearn.metrics.f1_score(average="macro")``. Log-loss is over the rows that came with
    probabilities, clipped to ``[1e-15, 1 - 1e-15]`` and not renormalised; a true label
    that has no column scores ``1e-15``.

    Examples
    --------
    >>> import numpy as np
    >>> m = ClassificationMetrics()
    >>> m.update(np.array([0, 1]), np.array([0, 0]),
    ...          proba=np.array([[0.9, 0.1], [0.6, 0.4]]), classes=np.array([0, 1]))
    >>> d = m.as_dict()
    >>> d["accuracy"], round(d["log_loss"], 4), d["per_class"]["1"]["recall"]
    (0.5, 0.5108, 0.0)
    """

    def __init__(self, *, window: int = 1000) -> None:
        self.window = window
        size = _check_window(self, window)
        self.classes_: np.ndarray | None = None
        self._confusion = np.zeros((0, 0), dtype=np.int64)
        self._buf_true = np.zeros(size, dtype=np.intp)
        self._buf_pred = np.zeros(size, dtype=np.intp)
        self._buf_loss = np.full(size, np.nan)
        self._pos = 0
        self._count = 0
        self._loss_sum = 0.0
        self._loss_n = 0

    def update(
        self,
        y_true: Any,
        y_pred: Any,
        proba: Any = None,
        classes: Any = None,
        *,
        p_true: Any = None,
    ) -> None:
        """Add a batch: true labels, predicted labels and, for the log-loss, either
        ``(n, c)`` probabilities whose columns are the labels ``classes`` or ``p_true``,
        the probability each row gave its true label."""
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.shape != y_pred.shape or y_true.ndim != 1:
            raise ConfigError(
                f"y_true and y_pred must be 1-D of one length; got {y_true.shape}"
                f" and {y_pred.shape}"
            )
        keep = _known(y_true)
        loss = np.full(y_true.shape[0], np.nan)
        if proba is not None:
            loss = self._row_losses(y_true, np.asarray(proba, dtype=np.float64), classes)
        elif p_true is not None:
            loss = -np.log(np.clip(np.asarray(p_true, dtype=np.float64), _CLIP, 1.0 - _CLIP))
        if not keep.all():
            y_true, y_pred, loss = y_true[keep], y_pred[keep], loss[keep]
        n = y_true.shape[0]
        if n == 0:
            return
        both = np.concatenate([y_true, y_pred])
        if both.dtype.kind == "O":
            both = np.asarray(both.tolist())
        old = 0 if self.classes_ is None else len(self.classes_)
        known = np.empty(0, dtype=both.dtype) if self.classes_ is None else self.classes_
        self.classes_, idx = encode_labels(known, both)
        k = len(self.classes_)
        if k > old:
            grown = np.zeros((k, k), dtype=np.int64)
            grown[:old, :old] = self._confusion
            self._confusion = grown
        t, p = idx[:n], idx[n:]
        self._confusion += np.bincount(t * k + p, minlength=k * k).reshape(k, k)
        start = self._pos
        self._pos = _ring_write(self._buf_true, start, t)
        _ring_write(self._buf_pred, start, p)
        _ring_write(self._buf_loss, start, loss)
        self._count += n
        has = ~np.isnan(loss)
        self._loss_sum += float(loss[has].sum())
        self._loss_n += int(has.sum())

    @staticmethod
    def _row_losses(y_true: np.ndarray, proba: np.ndarray, classes: Any) -> np.ndarray:
        if classes is None:
            raise ConfigError(
                "ClassificationMetrics.update: pass classes= (the labels of the "
                "proba columns) with proba"
            )
        classes = np.asarray(classes)
        if proba.ndim != 2 or proba.shape != (y_true.shape[0], classes.shape[0]):
            raise ConfigError(
                f"proba must have shape (n, len(classes)) = "
                f"({y_true.shape[0]}, {classes.shape[0]}); got {proba.shape}"
            )
        col = {c: i for i, c in enumerate(classes.tolist())}
        cols = np.array([col.get(v, -1) for v in y_true.tolist()], dtype=np.intp)
        p = np.where(cols >= 0, proba[np.arange(len(cols)), np.maximum(cols, 0)], 0.0)
        return -np.log(np.clip(p, _CLIP, 1.0 - _CLIP))

    def _summary(self, confusion: np.ndarray, loss_sum: float, loss_n: int) -> dict[str, Any]:
        n = int(confusion.sum())
        tp = np.diag(confusion).astype(np.float64)
        true_n, pred_n = confusion.sum(axis=1), confusion.sum(axis=0)
        present = (true_n + pred_n) > 0
        f1 = np.divide(2 * tp, true_n + pred_n, out=np.zeros_like(tp), where=present)
        per_class = {}
        labels = [] if self.classes_ is None else self.classes_.tolist()
        for i, label in enumerate(labels):
            if present[i]:
                per_class[str(label)] = {
                    "precision": _ratio(tp[i], pred_n[i]),
                    "recall": _ratio(tp[i], true_n[i]),
                    "f1": float(f1[i]),
                    "support": int(true_n[i]),
                }
        return {
            "n": n,
            "accuracy": _ratio(tp.sum(), n),
            "macro_f1": float(f1[present].mean()) if present.any() else None,
            "log_loss": _ratio(loss_sum, loss_n),
            "per_class": per_class,
        }

    def as_dict(self) -> dict[str, Any]:
        """Since-start metrics, with the window's under ``"window"`` (JSON-able)."""
        out = self._summary(self._confusion, self._loss_sum, self._loss_n)
        filled = min(self._count, self._buf_true.shape[0])
        k = self._confusion.shape[0]
        t, p, loss = self._buf_true[:filled], self._buf_pred[:filled], self._buf_loss[:filled]
        win = np.bincount(t * k + p, minlength=k * k).reshape(k, k) if k else self._confusion
        has = ~np.isnan(loss)
        out["window"] = self._summary(win, float(loss[has].sum()), int(has.sum()))
        return out

    def snapshot(self) -> bytes:
        values = {
            "kind": "ClassificationMetrics",
            "window": self.window,
            "pos": self._pos,
            "count": self._count,
            "loss_sum": self._loss_sum,
            "loss_n": self._loss_n,
        }
        arrays = {
            "confusion": self._confusion,
            "buf_true": self._buf_true,
            "buf_pred": self._buf_pred,
            "buf_loss": self._buf_loss,
        }
        if self.classes_ is not None:
            arrays["classes"] = self.classes_
        return encode_state(values, arrays)

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        if values.get("kind") != "ClassificationMetrics" or values["window"] != self.window:
            raise StateError(
                f"snapshot {values.get('kind')}(window={values.get('window')}) "
                f"cannot restore ClassificationMetrics(window={self.window})"
            )
        self._pos, self._count = values["pos"], values["count"]
        self._loss_sum, self._loss_n = values["loss_sum"], values["loss_n"]
        self._confusion, self._buf_true = arrays["confusion"], arrays["buf_true"]
        self._buf_pred, self._buf_loss = arrays["buf_pred"], arrays["buf_loss"]
        self.classes_ = arrays.get("classes")


class RegressionMetrics:
    """MAE, RMSE and R² of a stream, since start and over a rolling window.

    Since-start R² merges per-batch means and squared deviations (Chan et al.), which
    stays accurate when targets have a large mean. R² is ``None`` while the targets are
    constant.

    Parameters
    ----------
    window : int
        Size of the rolling window (last examples).

    Examples
    --------
    >>> import numpy as np
    >>> m = RegressionMetrics()
    >>> m.update(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.0, 2.5]))
    >>> d = m.as_dict()
    >>> round(d["mae"], 4), round(d["rmse"], 4), round(d["r2"], 4)
    (0.3333, 0.4082, 0.75)
    """

    def __init__(self, *, window: int = 1000) -> None:
        self.window = window
        size = _check_window(self, window)
        self._buf_true = np.zeros(size)
        self._buf_pred = np.zeros(size)
        self._pos = 0
        self._count = 0
        self._abs = 0.0
        self._sq = 0.0
        self._mean = 0.0
        self._m2 = 0.0

    def update(self, y_true: Any, y_pred: Any) -> None:
        """Add a batch of true and predicted values (rows with a NaN are ignored)."""
        y_true = np.asarray(y_true, dtype=np.float64)
        y_pred = np.asarray(y_pred, dtype=np.float64)
        if y_true.shape != y_pred.shape or y_true.ndim != 1:
            raise ConfigError(
                f"y_true and y_pred must be 1-D of one length; got {y_true.shape}"
                f" and {y_pred.shape}"
            )
        keep = ~(np.isnan(y_true) | np.isnan(y_pred))
        y_true, y_pred = y_true[keep], y_pred[keep]
        n = y_true.shape[0]
        if n == 0:
            return
        err = y_true - y_pred
        self._abs += float(np.abs(err).sum())
        self._sq += float(err @ err)
        mean_b = float(y_true.mean())
        m2_b = float(((y_true - mean_b) ** 2).sum())
        total = self._count + n
        delta = mean_b - self._mean
        self._m2 += m2_b + delta**2 * self._count * n / total
        self._mean += delta * n / total
        self._count = total
        start = self._pos
        self._pos = _ring_write(self._buf_true, start, y_true)
        _ring_write(self._buf_pred, start, y_pred)

    @staticmethod
    def _summary(n: int, abs_sum: float, sq_sum: float, m2: float) -> dict[str, Any]:
        return {
            "n": n,
            "mae": _ratio(abs_sum, n),
            "rmse": float(np.sqrt(sq_sum / n)) if n else None,
            "r2": 1.0 - sq_sum / m2 if n and m2 > 0 else None,
        }

    def as_dict(self) -> dict[str, Any]:
        """Since-start metrics, with the window's under ``"window"`` (JSON-able)."""
        out = self._summary(self._count, self._abs, self._sq, self._m2)
        filled = min(self._count, self._buf_true.shape[0])
        t, p = self._buf_true[:filled], self._buf_pred[:filled]
        err = t - p
        m2 = float(((t - t.mean()) ** 2).sum()) if filled else 0.0
        out["window"] = self._summary(filled, float(np.abs(err).sum()), float(err @ err), m2)
        return out

    def snapshot(self) -> bytes:
        values = {
            "kind": "RegressionMetrics",
            "window": self.window,
            "pos": self._pos,
            "count": self._count,
            "abs": self._abs,
            "sq": self._sq,
            "mean": self._mean,
            "m2": self._m2,
        }
        return encode_state(values, {"buf_true": self._buf_true, "buf_pred": self._buf_pred})

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        if values.get("kind") != "RegressionMetrics" or values["window"] != self.window:
            raise StateError(
                f"snapshot {values.get('kind')}(window={values.get('window')}) "
                f"cannot restore RegressionMetrics(window={self.window})"
            )
        self._pos, self._count = values["pos"], values["count"]
        self._abs, self._sq = values["abs"], values["sq"]
        self._mean, self._m2 = values["mean"], values["m2"]
        self._buf_true, self._buf_pred = arrays["buf_true"], arrays["buf_pred"]
