"""``sl.ml.train``: keep training a model on mini-batches as records arrive.

Records pass through unchanged; their features and label are buffered, and each time
``batch_size`` rows are buffered the model trains on them (one optimizer step, or one
``partial_fit``). Where the stream was cut into micro-batches does not matter: the
mini-batches are always rows ``0..B-1``, ``B..2B-1``... of the partition, so the same
records train the same model online and offline (:meth:`Pipeline.apply` on a frame).
Rows with a non-finite feature or no label are skipped and counted.

State, snapshotted with the input offsets (:mod:`streamlearn.core.state`, no pickle):
the model's training state (weights, optimizer state, random generator), the rows of
the incomplete mini-batch, and the counters. A SIGKILL and a restart therefore neither
lose nor repeat a mini-batch. ``checkpoint_every=N`` bounds how often a large model is
encoded: the weights go into a snapshot only once N mini-batches were trained since they
last did; the rows of the mini-batches in between go into the snapshot instead and are
trained again on restore, from the older weights and generator state, which gives the
same model (training is deterministic on the CPU given the same inputs; call
``torch.use_deterministic_algorithms(True)`` to be strict about it).

With ``publish=``, a version of the model is pushed to the registry every ``every``
trained records (:mod:`streamlearn.ml.publish`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from streamlearn.core.batch import Batch
from streamlearn.core.errors import ConfigError, StateError
from streamlearn.core.operator import Context, Operator, OutputTopic, SideInput, Step
from streamlearn.core.state import decode_state, encode_state
from streamlearn.ml._features import feature_block
from streamlearn.ml.minibatch.base import Adapter, adapter_for, kind_of
from streamlearn.ml.publish import CONTROL, Publish, Publisher

log = logging.getLogger("streamlearn.ml")


@dataclass(frozen=True)
class Train(Operator):
    """Train ``model`` on mini-batches of the stream; built by :func:`~streamlearn.ml.train`,
    which documents the parameters.

    Examples
    --------
    >>> import numpy as np, polars as pl, streamlearn as sl
    >>> from sklearn.linear_model import SGDRegressor
    >>> op = sl.ml.train(SGDRegressor(random_state=0), ["x"], "y", batch_size=4)
    >>> df = pl.DataFrame({"x": np.arange(10.0), "y": 2 * np.arange(10.0)})
    >>> step = op.build()
    >>> step.process(sl.Batch.from_frame(df), sl.Context()).height
    10
    >>> step.report()["batches"], step.report()["buffered"]
    (2, 2)
    """

    model: Any = None
    features: tuple[str, ...] = ()
    label: str = "y"
    batch_size: int = 256
    checkpoint_every: int = 1
    optimizer: Any = None
    loss: Any = None
    seed: int = 0
    publish: Publish | None = None
    kind: str = field(default="ml.train", init=False, repr=False)
    stateful: bool = field(default=True, init=False, repr=False)
    framework: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        if self.model is None or not self.features:
            raise ConfigError("sl.ml.train needs a model and feature columns")
        object.__setattr__(self, "features", tuple(self.features))
        if self.label in self.features:
            raise ConfigError(f"{self.label!r} cannot be both a feature and the label")
        for what, n in (
            ("batch_size", self.batch_size),
            ("checkpoint_every", self.checkpoint_every),
        ):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ConfigError(f"sl.ml.train: {what} must be an integer >= 1, not {n!r}")
        kind = kind_of(self.model)
        if kind == "keras":
            from streamlearn.ml.minibatch.keras_adapter import check_keras

            check_keras(self.model)
        if kind != "torch" and (self.optimizer is not None or self.loss is not None):
            raise ConfigError(
                "optimizer= and loss= are for torch modules (compile a Keras model with "
                "them; scikit-learn estimators have their own)"
            )
        object.__setattr__(self, "framework", kind)

    def inputs(self) -> tuple[SideInput, ...]:
        return self.publish.inputs() if self.publish is not None else ()

    def outputs(self) -> tuple[OutputTopic, ...]:
        return self.publish.outputs() if self.publish is not None else ()

    def new_adapter(self) -> Adapter:
        """A fresh copy of the template, ready to train (one per partition)."""
        return adapter_for(
            self.framework, self.model, optimizer=self.optimizer, loss=self.loss, seed=self.seed
        )

    def build(self) -> Step:
        return _TrainStep(self)


class _TrainStep(Step):
    """One partition's model, its buffered rows and its counters."""

    def __init__(self, spec: Train) -> None:
        self.spec = spec
        self.adapter = spec.new_adapter()
        # rows trained since the encoded weights (a multiple of batch_size), then the
        # incomplete mini-batch; see checkpoint_every in the module docstring
        self.X = np.empty((0, len(spec.features)), dtype=np.float64)
        self.y: np.ndarray | None = None
        self.replay = 0
        self.weights: bytes | None = None  # the encoded adapter state (None: fresh)
        self.weights_at = 0  # mini-batches trained when ``weights`` was encoded
        self.counts = {"batches": 0, "trained": 0, "skipped": 0, "rows": 0}
        self.loss: float | None = None
        self.partition: int | None = None
        self.publisher = Publisher(spec.publish) if spec.publish is not None else None

    @property
    def buffered(self) -> int:
        """Rows of the incomplete mini-batch."""
        return self.X.shape[0] - self.replay

    def report(self) -> dict[str, Any]:
        """Counters and the last loss (JSON-able); what the run's metrics show."""
        out: dict[str, Any] = {**self.counts, "buffered": self.buffered, "loss": self.loss}
        if self.publisher is not None:
            out["versions_published"] = self.publisher.versions
        return out

    # -- the step contract --------------------------------------------------------------
    def process_side(self, port: str, batch: Batch, ctx: Context) -> Batch | None:
        if port != CONTROL or self.publisher is None:
            return super().process_side(port, batch, ctx)
        self.publisher.on_control(batch)
        return None

    def process(self, batch: Batch, ctx: Context) -> Batch | None:
        spec = self.spec
        if batch.origin is not None:
            self.partition = batch.origin.partition
        df = batch.data
        X = feature_block(batch, spec.features, [spec.label], ctx, self.name)
        if X is None:
            return None
        label = df[spec.label]
        if self.adapter.numeric_labels and not (
            label.dtype.is_numeric() or label.dtype == pl.Boolean
        ):
            ctx.dead_letter(
                batch, f"label {spec.label!r} is not numeric ({label.dtype})", self.name
            )
            return None
        keep = label.is_not_null().to_numpy() & np.isfinite(X).all(axis=1)
        if label.dtype.is_float():
            keep &= np.isfinite(label.fill_null(0.0).to_numpy())
        self._take(X[keep], label.filter(pl.Series(keep)).to_numpy())
        self.counts["skipped"] += int((~keep).sum())
        self.counts["rows"] += df.height
        self._train(ctx)
        ctx.metrics[f"{self.name}[{self.partition}]"] = self.report()
        return batch

    def _take(self, X: np.ndarray, y: np.ndarray) -> None:
        """Append usable rows (finite features, a label) to the buffer."""
        if y.dtype == object:  # text labels: fixed-width, as the state codec keeps them
            y = np.asarray(y.tolist())
        if not y.shape[0]:
            return
        if self.y is None:
            self.y = y[:0]
        self.X = np.concatenate([self.X, X])
        self.y = np.concatenate([self.y, y])

    def _train(self, ctx: Context | None, *, replaying: bool = False) -> None:
        """Train every complete mini-batch in the buffer (``replaying``: after a restore,
        the mini-batches trained before the snapshot; counters and cadence unchanged)."""
        B = self.spec.batch_size
        end = self.replay if replaying else self.X.shape[0]
        start = 0 if replaying else self.replay
        assert self.y is not None or end == start
        while end - start >= B:
            assert self.y is not None
            self.loss = self.adapter.fit(self.X[start : start + B], self.y[start : start + B])
            start += B
            if replaying:
                continue
            self.replay = start
            self.counts["batches"] += 1
            self.counts["trained"] += B
            if self.publisher is not None and ctx is not None:
                self._publish(ctx)
        if not replaying and self.counts["batches"] - self.weights_at >= self.spec.checkpoint_every:
            self._drop_trained()  # the next snapshot encodes the weights: rows not needed

    def _drop_trained(self) -> None:
        self.X = self.X[self.replay :]
        self.y = None if self.y is None else self.y[self.replay :]
        self.replay = 0

    def _publish(self, ctx: Context) -> None:
        assert self.publisher is not None
        spec = self.spec
        version = self.publisher.publish(
            ctx,
            learned=self.counts["trained"],
            partition=self.partition,
            step=self.name,
            features=spec.features,
            export=lambda: self.adapter.export(spec.features),
            metadata={"batches": self.counts["batches"], "framework": spec.framework},
        )
        if version is not None:
            log.info("%s: published %s v%d", self.name, spec.publish.name, version)  # type: ignore[union-attr]

    # -- state --------------------------------------------------------------------------
    def snapshot(self) -> bytes:
        if self.counts["batches"] - self.weights_at >= self.spec.checkpoint_every:
            values, arrays = self.adapter.state()
            self.weights = encode_state(values, arrays)
            self.weights_at = self.counts["batches"]
            self._drop_trained()
        arrays = {"rows.X": self.X}
        if self.y is not None:
            arrays["rows.y"] = self.y
        if self.weights is not None:
            arrays["weights"] = np.frombuffer(self.weights, np.uint8)
        values = {
            "framework": self.spec.framework,
            "batch_size": self.spec.batch_size,
            "counts": self.counts,
            "replay": self.replay,
            "weights_at": self.weights_at,
            "loss": self.loss,
            "publish": self.publisher.state() if self.publisher is not None else None,
        }
        return encode_state(values, arrays)

    def restore(self, blob: bytes) -> None:
        values, arrays = decode_state(blob)
        if (
            values["framework"] != self.spec.framework
            or values["batch_size"] != self.spec.batch_size
        ):
            raise StateError(
                f"{self.name}: the snapshot was taken training a {values['framework']} model "
                f"with batch_size={values['batch_size']}; this step trains a "
                f"{self.spec.framework} model with batch_size={self.spec.batch_size} "
                "(give the changed step a new name to start it afresh)"
            )
        self.adapter = self.spec.new_adapter()
        self.weights = arrays["weights"].tobytes() if "weights" in arrays else None
        if self.weights is not None:
            self.adapter.load(*decode_state(self.weights))
        self.counts.update(values["counts"])
        self.weights_at, self.loss = values["weights_at"], values["loss"]
        self.X, self.y, self.replay = arrays["rows.X"], arrays.get("rows.y"), values["replay"]
        if self.publisher is not None and values["publish"] is not None:
            self.publisher.load(values["publish"])
        self._train(None, replaying=True)


__all__ = ["Train"]
