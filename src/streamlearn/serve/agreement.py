"""How far two models' predictions on the same records agree.

One accumulator serves the shadow step (``sl.ml.predict(..., shadow="challenger")``,
per partition) and ``streamlearn compare`` (two output topics joined by ``sl-id``), so
both report the same figures the same way:

- **classification** (labels: integers, strings, booleans): the agreement rate, the
  count of rows that agree, and the confusion between the two (``{a: {b: count}}``,
  ``a`` the reference model's label, ``b`` the candidate's; labels as text);
- **regression** (floats): MAE and RMSE of the difference, the largest absolute
  difference and the mean difference (``b - a``: the candidate's bias).

Reports carry counts and means from which partitions and members fold exactly
(:func:`fold`): the feed has one report per step and partition. :meth:`Agreement.snapshot`
and :meth:`Agreement.restore` carry the running figures across a restart (the predict
step's checkpointed state), encoded with :func:`~streamlearn.core.state.encode_state`.

Examples
--------
>>> import numpy as np
>>> a = Agreement("classification")
>>> a.update(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]))
>>> d = a.as_dict()
>>> d["agreement"], d["confusion"]["1"]
(0.75, {'0': 1, '1': 1})
>>> r = Agreement("regression")
>>> r.update(np.array([1.0, 2.0]), np.array([1.5, 1.0]))
>>> r.as_dict()["mae"], r.as_dict()["max_abs_diff"]
(0.75, 1.0)
>>> b = Agreement("regression")
>>> b.restore(a.snapshot())
>>> b.as_dict() == a.as_dict()
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.errors import ConfigError, StateError
from streamlearn.core.state import decode_state, encode_state

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)


def task_of(values: Any) -> str:
    """The task a model's predictions belong to, from their type: labels (integers,
    strings, booleans) are a classification, floats a regression.

    >>> task_of(np.array([1, 0])), task_of(np.array([0.5])), task_of(np.array(["a"]))
    ('classification', 'regression', 'classification')
    """
    kind = np.asarray(values).dtype.kind
    return CLASSIFICATION if kind in "biuUSO" else REGRESSION


def check_task(task: str | None, where: str) -> str | None:
    """``task`` if it is one of :data:`TASKS` (or ``None``: inferred from the data)."""
    if task is not None and task not in TASKS:
        raise ConfigError(f"{where}: task must be one of {list(TASKS)}, not {task!r}")
    return task


class Agreement:
    """Running agreement between reference predictions ``a`` and candidate ones ``b``."""

    def __init__(self, task: str) -> None:
        self.task = check_task(task, "Agreement") or REGRESSION
        self.n = 0
        self.agreed = 0
        self.confusion: dict[str, dict[str, int]] = {}
        self.abs_sum = 0.0
        self.sq_sum = 0.0
        self.diff_sum = 0.0
        self.max_abs = 0.0

    def update(self, a: Any, b: Any) -> None:
        """Add pairs of predictions of the same records (rows with a missing value on
        either side are left out)."""
        if self.task == CLASSIFICATION:
            sa, sb = _series(a), _series(b)
            if sa.dtype != sb.dtype and sa.dtype.is_numeric() and sb.dtype.is_numeric():
                sa, sb = sa.cast(pl.Float64), sb.cast(pl.Float64)  # 1 and 1.0 agree
            frame = pl.DataFrame({"a": sa, "b": sb})
            frame = frame.select(pl.col("a", "b").cast(pl.String)).drop_nulls()
            if not frame.height:
                return
            counts = frame.group_by("a", "b").len()
            for x, y, k in counts.iter_rows():
                row = self.confusion.setdefault(x, {})
                row[y] = row.get(y, 0) + int(k)
            self.n += frame.height
            self.agreed += int((frame["a"] == frame["b"]).sum())
            return
        fa, fb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        keep = ~(np.isnan(fa) | np.isnan(fb))
        diff = fb[keep] - fa[keep]
        if not diff.size:
            return
        self.n += int(diff.size)
        self.abs_sum += float(np.abs(diff).sum())
        self.sq_sum += float(diff @ diff)
        self.diff_sum += float(diff.sum())
        self.max_abs = max(self.max_abs, float(np.abs(diff).max()))

    def snapshot(self) -> bytes:
        """The running figures as bytes (no pickle), so they survive a restart."""
        return encode_state(
            {
                "kind": "Agreement",
                "task": self.task,
                "n": self.n,
                "agreed": self.agreed,
                "confusion": self.confusion,
                "abs_sum": self.abs_sum,
                "sq_sum": self.sq_sum,
                "diff_sum": self.diff_sum,
                "max_abs": self.max_abs,
            }
        )

    def restore(self, blob: bytes) -> None:
        """Continue from a :meth:`snapshot` (its task included: it replaces this one's)."""
        values, _ = decode_state(blob)
        if values.get("kind") != "Agreement":
            raise StateError(f"snapshot {values.get('kind')} cannot restore an Agreement")
        self.task = check_task(values["task"], "Agreement.restore") or REGRESSION
        self.n, self.agreed = int(values["n"]), int(values["agreed"])
        self.confusion = {
            a: {b: int(k) for b, k in row.items()} for a, row in values["confusion"].items()
        }
        self.abs_sum, self.sq_sum = float(values["abs_sum"]), float(values["sq_sum"])
        self.diff_sum, self.max_abs = float(values["diff_sum"]), float(values["max_abs"])

    def as_dict(self) -> dict[str, Any]:
        """The figures (JSON-able; ``None`` where nothing was compared yet)."""
        n = self.n
        if self.task == CLASSIFICATION:
            return {
                "task": self.task,
                "n": n,
                "agreed": self.agreed,
                "agreement": self.agreed / n if n else None,
                "confusion": {
                    a: dict(sorted(r.items())) for a, r in sorted(self.confusion.items())
                },
            }
        return {
            "task": self.task,
            "n": n,
            "mae": self.abs_sum / n if n else None,
            "rmse": math.sqrt(self.sq_sum / n) if n else None,
            "max_abs_diff": self.max_abs if n else None,
            "mean_diff": self.diff_sum / n if n else None,
        }


def _series(values: Any) -> pl.Series:
    arr = np.asarray(values)
    if arr.dtype.kind == "O":  # Python objects (labels read from JSON): one by one
        return pl.Series(arr.tolist(), strict=False)
    return pl.Series(arr)


def fold(reports: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One report from several (partitions, members) of one task: counts summed, means
    weighted by their counts.

    >>> fold([{"task": "regression", "n": 1, "mae": 1.0, "rmse": 1.0, "max_abs_diff": 1.0,
    ...        "mean_diff": 1.0}, {"task": "regression", "n": 3, "mae": 0.0, "rmse": 0.0,
    ...        "max_abs_diff": 0.0, "mean_diff": 0.0}])["mae"]
    0.25
    """
    reports = [r for r in reports if r.get("n")]
    if not reports:
        return {"n": 0}
    task = reports[0]["task"]
    acc = Agreement(task)
    for r in reports:
        n = int(r["n"])
        acc.n += n
        if task == CLASSIFICATION:
            acc.agreed += int(r["agreed"])
            for x, row in r["confusion"].items():
                mine = acc.confusion.setdefault(x, {})
                for y, k in row.items():
                    mine[y] = mine.get(y, 0) + int(k)
        else:
            acc.abs_sum += r["mae"] * n
            acc.sq_sum += r["rmse"] ** 2 * n
            acc.diff_sum += r["mean_diff"] * n
            acc.max_abs = max(acc.max_abs, r["max_abs_diff"])
    return acc.as_dict()


__all__ = ["CLASSIFICATION", "REGRESSION", "TASKS", "Agreement", "check_task", "fold", "task_of"]
