"""Prequential (test-then-train) metrics, updated a batch at a time with NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np


class ClassificationMetrics:
    """Accuracy since start and over the last ``window`` labels; per-class P/R/F1.

    Examples
    --------
    >>> m = ClassificationMetrics(window=2)
    >>> m.update(np.array([1, 0, 1]), np.array([1, 1, 1]))
    >>> m.as_dict()["accuracy"], m.as_dict()["accuracy_window"]
    (0.667, 0.5)
    """

    def __init__(self, *, window: int = 1000) -> None:
        self.window = window
        self.n = 0
        self.correct = 0
        self.recent = np.zeros(0, dtype=bool)
        self.tp: dict[Any, int] = {}
        self.fp: dict[Any, int] = {}
        self.fn: dict[Any, int] = {}

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        hit = np.asarray(y_true) == np.asarray(y_pred)
        self.n += len(hit)
        self.correct += int(hit.sum())
        self.recent = np.concatenate([self.recent, hit])[-self.window:]
        for label in np.unique(np.concatenate([y_true, y_pred])).tolist():
            t, p = y_true == label, y_pred == label
            self.tp[label] = self.tp.get(label, 0) + int((t & p).sum())
            self.fp[label] = self.fp.get(label, 0) + int((~t & p).sum())
            self.fn[label] = self.fn.get(label, 0) + int((t & ~p).sum())

    def as_dict(self) -> dict[str, Any]:
        per_class = {}
        for label in self.tp:
            tp, fp, fn = self.tp[label], self.fp[label], self.fn[label]
            prec = tp / (tp + fp) if tp + fp else None
            rec = tp / (tp + fn) if tp + fn else None
            f1 = (2 * prec * rec / (prec + rec)) if prec and rec else 0.0
            per_class[str(label)] = {"precision": prec, "recall": rec, "f1": round(f1, 4)}
        f1s = [c["f1"] for c in per_class.values()]
        return {"labels": self.n,
                "accuracy": round(self.correct / self.n, 3) if self.n else None,
                "accuracy_window": round(float(self.recent.mean()), 3) if len(self.recent)
                else None,
                "macro_f1": round(float(np.mean(f1s)), 4) if f1s else None,
                "per_class": per_class}


class RegressionMetrics:
    """MAE, RMSE and R² since start."""

    def __init__(self, *, window: int = 1000) -> None:
        self.window = window
        self.n = 0
        self.abs_err = self.sq_err = self.sum_y = self.sum_y2 = 0.0

    def update(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
        self.n += len(y)
        self.abs_err += float(np.abs(y - p).sum())
        self.sq_err += float(((y - p) ** 2).sum())
        self.sum_y += float(y.sum())
        self.sum_y2 += float((y * y).sum())

    def as_dict(self) -> dict[str, Any]:
        if not self.n:
            return {"labels": 0, "mae": None, "rmse": None, "r2": None}
        var = self.sum_y2 - self.sum_y**2 / self.n
        return {"labels": self.n, "mae": self.abs_err / self.n,
                "rmse": (self.sq_err / self.n) ** 0.5,
                "r2": 1 - self.sq_err / var if var > 0 else None}
