"""What a predict step measures after scoring: the shadow and label metrics.

**Shadow.** The shadow variant scores the rows the main model scored (the same records,
the same features). Its rows are the main output's columns with the shadow's own
prediction and version; they go only to the shadow topic (``Context.emit``, with the
input record's ``sl-id`` and an ``sl-model-version`` header), never down the chain. The
agreement between the two (:class:`~streamlearn.serve.agreement.Agreement`) is the
step's report ``<step>.shadow[<partition>]`` on the metrics feed; it starts over when
either side changes version, and names both versions. A shadow that has no valid
version, lacks features or fails to score is counted (``<step>.shadow.unscored``,
``<step>.shadow.errors``) and leaves the main output alone.

**Labels.** With ``label=`` and that column in the scored rows, each variant's (and the
shadow's) predictions are measured against it with the prequential metrics of
:mod:`streamlearn.ml.metrics` (accuracy, F1... or MAE, RMSE, R²): the report
``<step>.labels.<variant>[<partition>]``, beside the per-variant counts. Rows whose label
is missing are left out; a variant's figures start over when its version changes.

Reports are per partition (the feed's convention, so members and rebalances fold
right); :func:`streamlearn.serve.agreement.fold` folds shadow reports.

**Restarts.** A predict step with ``label=`` or a shadow is stateful: the agreement
(with the version pair it belongs to) and each variant's label metrics (with their
version) are its snapshot, checkpointed with the input offsets. After a restart, a
crash or a rebalance the figures continue from the checkpoint, as if the run had never
stopped; a version change still starts them over, since the restored pair or version no
longer matches.

Examples
--------
>>> import polars as pl, streamlearn as sl
>>> step = sl.ml.predict("m", label="y").build()
>>> ev = Evaluation(step)
>>> ev.labels["champion"] = (3, ClassificationMetrics())
>>> again = Evaluation(step)
>>> again.restore(ev.snapshot())
>>> again.labels["champion"][0], type(again.labels["champion"][1]).__name__
(3, 'ClassificationMetrics')
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import StateError
from streamlearn.core.operator import Context
from streamlearn.core.state import decode_state, encode_state
from streamlearn.formats.json import encode_json
from streamlearn.ml.metrics import ClassificationMetrics, RegressionMetrics
from streamlearn.serve.agreement import CLASSIFICATION, Agreement, task_of
from streamlearn.serve.errors import first_line
from streamlearn.serve.predict import VERSION_HEADER

if TYPE_CHECKING:
    from streamlearn.serve.step import PredictStep, Variant

log = logging.getLogger("streamlearn.serve")
#: the label metrics a snapshot may name
_METRICS: dict[str, type[ClassificationMetrics] | type[RegressionMetrics]] = {
    "ClassificationMetrics": ClassificationMetrics,
    "RegressionMetrics": RegressionMetrics,
}


class Evaluation:
    """The shadow's agreement and the label metrics of one partition's predict step."""

    def __init__(self, step: PredictStep) -> None:
        self.step = step
        self.agreement: Agreement | None = None
        self._pair: tuple[int, int] | None = None
        #: variant label -> (version, metrics)
        self.labels: dict[str, tuple[int, Any]] = {}
        self._warned = False

    # -- state ----------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        """The agreement, its version pair and each variant's (version, label metrics),
        so the reports continue after a restart (nested snapshots as byte arrays)."""
        arrays: dict[str, np.ndarray] = {}
        if self.agreement is not None:
            arrays["agreement"] = np.frombuffer(self.agreement.snapshot(), dtype=np.uint8)
        labels = {}
        for label, (version, metrics) in self.labels.items():
            labels[label] = {"version": version, "kind": type(metrics).__name__}
            arrays[f"labels/{label}"] = np.frombuffer(metrics.snapshot(), dtype=np.uint8)
        values = {
            "kind": "Evaluation",
            "pair": list(self._pair) if self._pair is not None else None,
            "labels": labels,
        }
        return encode_state(values, arrays)

    def restore(self, blob: bytes) -> None:
        """Continue from a :meth:`snapshot`; figures of a variant the step no longer has
        (an alias taken out of the split) are dropped."""
        values, arrays = decode_state(blob)
        if values.get("kind") != "Evaluation":
            raise StateError(f"snapshot {values.get('kind')} cannot restore a predict step")
        self.agreement, self._pair = None, None
        if "agreement" in arrays and values["pair"] is not None:
            self.agreement = Agreement(CLASSIFICATION)
            self.agreement.restore(arrays["agreement"].tobytes())
            main, shadow = values["pair"]
            self._pair = (int(main), int(shadow))
        known = {v.label for v in self.step._all()}
        self.labels = {}
        for label, meta in values["labels"].items():
            if label not in known:
                continue
            kind = _METRICS.get(meta["kind"])
            if kind is None:
                raise StateError(f"unknown label metrics {meta['kind']!r} in a predict snapshot")
            metrics = kind()
            metrics.restore(arrays[f"labels/{label}"].tobytes())
            self.labels[label] = (int(meta["version"]), metrics)

    def observe(self, batch: Batch, out: Batch, ctx: Context) -> None:
        """``out`` is what the main variants made of ``batch``."""
        step, spec = self.step, self.step.spec
        part = batch.origin.partition if batch.origin is not None else 0
        if spec.label is not None and spec.label in out.data.columns:
            if spec.split is not None:
                col = out.data[spec.variant_column]
                for var in step.variants:
                    mask = (col == var.label).to_numpy()
                    if mask.any():
                        self._labels(var, out.data.filter(pl.Series(mask)), ctx, part)
            else:
                self._labels(step.variants[0], out.data, ctx, part)
        if step.shadow is not None:
            self._shadow(step.shadow, batch, out, ctx, part)

    # -- shadow ---------------------------------------------------------------------------
    def _shadow(self, var: Variant, batch: Batch, out: Batch, ctx: Context, part: int) -> None:
        step, spec = self.step, self.step.spec
        main = step.variants[0].current
        if var.current is None or main is None:
            _count(ctx, f"{step.name}.shadow.unscored", batch.height)
            return
        try:
            shadow = step.score(var, batch, ctx, dead_letter=False)
            if shadow is None:
                _count(ctx, f"{step.name}.shadow.unscored", batch.height)
                return
            self._emit(var, shadow, ctx)
            column = var.binding.output
            a, b = out.data[column].to_numpy(), shadow.data[column].to_numpy()
            pair = (main.version, var.current.version)
            if self.agreement is None or self._pair != pair:
                self.agreement, self._pair = Agreement(spec.task or task_of(a)), pair
            self.agreement.update(a, b)
            ctx.metrics[f"{step.name}.shadow[{part}]"] = {
                "model": var.model,
                "main": step.variants[0].label,
                "main_version": pair[0],
                "shadow": var.label,
                "shadow_version": pair[1],
                **self.agreement.as_dict(),
            }
            if spec.label is not None and spec.label in shadow.data.columns:
                self._labels(var, shadow.data, ctx, part)
        except Exception as exc:  # the shadow never stops the main output
            _count(ctx, f"{step.name}.shadow.errors")
            if not self._warned:
                self._warned = True
                log.error("%s: the shadow failed to score: %s", step.name, first_line(exc))

    def _emit(self, var: Variant, shadow: Batch, ctx: Context) -> None:
        from streamlearn.write.kafka import json_safe

        topic = self.step.spec.shadow_topic
        assert topic is not None and var.current is not None
        n = shadow.height
        version = f"{var.model}:{var.current.version}".encode()
        ctx.emit(
            topic,
            shadow,
            encode_json(json_safe(shadow.data)),
            shadow.keys(),
            headers=[(VERSION_HEADER, [version] * n)],
        )

    # -- labels ---------------------------------------------------------------------------
    def _labels(self, var: Variant, df: pl.DataFrame, ctx: Context, part: int) -> None:
        spec, cur = self.step.spec, var.current
        if cur is None or spec.label is None or not df.height:
            return
        column = var.binding.output
        pred = df[column]
        truth = df[spec.label]
        kept = self.labels.get(var.label)
        if kept is None or kept[0] != cur.version:
            task = spec.task or task_of(pred.to_numpy())
            metrics = ClassificationMetrics() if task == CLASSIFICATION else RegressionMetrics()
            kept = self.labels[var.label] = (cur.version, metrics)
        metrics = kept[1]
        if isinstance(metrics, ClassificationMetrics):
            # the label as the prediction's type (JSON may give "1" for 1); unreadable: left out
            truth = truth.cast(pred.dtype, strict=False)
            known = truth.is_not_null().to_numpy()
            metrics.update(truth.to_numpy()[known], pred.to_numpy()[known])
        else:
            metrics.update(
                truth.cast(pl.Float64, strict=False).fill_null(float("nan")).to_numpy(),
                pred.cast(pl.Float64).to_numpy(),
            )
        ctx.metrics[f"{self.step.name}.labels.{var.label}[{part}]"] = {
            "model": var.model,
            "version": cur.version,
            **metrics.as_dict(),
        }


def _count(ctx: Context, key: str, n: int = 1) -> None:
    ctx.metrics[key] = ctx.metrics.get(key, 0) + n


__all__ = ["Evaluation"]
