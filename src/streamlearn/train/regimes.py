"""Scenario S2's offline job: find a machine's work regimes and train a model to tell them.

1. The elbow curve: the k-means cost for k = 2..19, saved as ``elbow.png``.
2. k: given, or the bend of that curve (:func:`~streamlearn.train.elbow.knee`).
3. Labels: k-means with that k, ordered by centre (label 0 = the coolest regime), so the
   same data gives the same labels on every run.
4. A classifier on those labels: the scenario's 1-6-8-6 perceptron (scikit-learn's
   ``MLPClassifier``), trained on a stratified 60 % of the rows, its accuracy measured on
   the other 40 %, the confusion matrix saved as ``confusion.png``.
5. ONNX: the model exported with skl2onnx and scored again with ONNX Runtime; its labels
   must equal scikit-learn's (the count of rows that differ is in the report).
6. The model: ``model.onnx`` in ``out``, and pushed to the registry as a new version
   of ``name`` when a cluster is given (``kafka=``), with its training profile and the
   job's figures as metadata, ready for ``sl.ml.predict(name, ...)``.

Why a classifier at all, when k-means can label a reading by itself: the scenario's
stream scores with a saved model in a standard format; the classifier is that model, and
it learns the k-means boundaries exactly (labels of 1-D data are a step function).

Examples
--------
>>> import streamlearn as sl
>>> from streamlearn.datasets.synth import generate_temperature_frame
>>> import tempfile
>>> report = sl.train.regimes(generate_temperature_frame(5_000, seed=1),
...                           out=tempfile.mkdtemp(), ks=range(2, 10))
>>> report.k, report.accuracy >= 0.97, report.onnx_mismatches, report.version
(6, True, 0, None)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from streamlearn.core.errors import ConfigError
from streamlearn.core.extras import require
from streamlearn.train._progress import bars
from streamlearn.train._source import bad_records, feature_frame, read_frame
from streamlearn.train.classifier import HIDDEN_LAYERS, train_mlp
from streamlearn.train.elbow import DEFAULT_KS, distinct_rows, elbow_costs, fit_kmeans, knee
from streamlearn.train.export import onnx_labels, to_onnx_bytes

__all__ = ["RegimesReport", "regimes"]


@dataclass(frozen=True)
class RegimesReport:
    """What :func:`regimes` did: the figures, the files it wrote, the version it pushed."""

    k: int
    k_chosen: bool  # True: k is the bend of the elbow curve; False: k was given
    costs: dict[int, float]
    centres: tuple[tuple[float, ...], ...]
    accuracy: float
    confusion: tuple[tuple[int, ...], ...]
    onnx_mismatches: int
    rows: int
    dropped: int  # rows without a value (null or NaN) in a feature column
    bad_records: int  # records a dataset could not decode (see its report)
    train_rows: int
    test_rows: int
    epochs: int
    features: tuple[str, ...]
    out: Path
    elbow_png: Path
    confusion_png: Path
    model_path: Path
    name: str | None = None
    version: int | None = None
    seconds: float = field(default=0.0, compare=False)
    #: the fitted scikit-learn pipeline (scaler + MLP) that model.onnx was made from
    model: Any = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-able data (what ``report.json`` holds)."""
        doc = asdict(replace(self, model=None))
        doc.pop("model")
        doc["costs"] = {str(k): v for k, v in self.costs.items()}
        for key in ("out", "elbow_png", "confusion_png", "model_path"):
            doc[key] = str(doc[key])
        return doc

    def summary(self) -> str:
        """A few lines for people."""
        how = "the bend of the elbow curve" if self.k_chosen else "given"
        where = f"{self.name} v{self.version}" if self.version is not None else "not pushed"
        return "\n".join(
            [
                f"k = {self.k} ({how}); centres "
                + ", ".join("/".join(f"{v:.2f}" for v in c) for c in self.centres),
                f"MLP {'-'.join(map(str, (len(self.features), *HIDDEN_LAYERS, self.k)))}: "
                f"test accuracy {self.accuracy:.4f} on {self.test_rows:,} rows "
                f"({self.train_rows:,} trained, {self.epochs} epochs)",
                f"ONNX labels differ from scikit-learn's on {self.onnx_mismatches} rows",
                f"wrote {self.elbow_png}, {self.confusion_png}, {self.model_path}",
                f"registry: {where}",
            ]
        )


def regimes(
    data: Any,
    *,
    column: str | Sequence[str] = "Temperature",
    k: int | None = None,
    ks: Iterable[int] = DEFAULT_KS,
    out: str | Path = "s2-model",
    name: str | None = None,
    alias: str | Sequence[str] | None = "champion",
    kafka: Any = None,
    registry_topic: str | None = None,
    artifact_topic: str | None = None,
    test_size: float = 0.4,
    max_epochs: int = 200,
    seed: int = 0,
    progress: bool = False,
) -> RegimesReport:
    """Run the S2 offline job on ``data`` (see the module docstring).

    Parameters
    ----------
    data
        A polars DataFrame, a CSV/Parquet/NDJSON file, or a dataset
        (``sl.datasets.from_kafka(...)``).
    column
        The feature column (or columns) to find regimes in.
    k
        The number of regimes; default: the bend of the elbow curve over ``ks``.
    out
        Directory for ``elbow.png``, ``confusion.png``, ``model.onnx``, ``report.json``.
    name, alias, kafka
        With ``kafka`` (a cluster address or :class:`~streamlearn.KafkaConfig`), push
        the model to the registry as ``name`` (default ``<column>-regimes``) and point
        ``alias`` at it; without, the model is only saved in ``out``.
    registry_topic, artifact_topic
        A registry other than the default topics.
    test_size
        Share of the rows held out (stratified by label) to measure the accuracy.
    progress
        Rich progress bars on stderr for reading and training.
    """
    from sklearn.metrics import confusion_matrix
    from sklearn.model_selection import train_test_split

    started = time.monotonic()
    features = (column,) if isinstance(column, str) else tuple(column)
    if not features:
        raise ConfigError("regimes(): give the column to learn from")
    if not 0 < test_size < 1:
        raise ConfigError(f"regimes(): test_size must be between 0 and 1, got {test_size}")
    if k is not None and k < 2:
        raise ConfigError(f"regimes(): k must be >= 2, got {k}")
    ks = sorted({int(x) for x in ks})
    if k is None and (len(ks) < 3 or ks[0] < 1):
        raise ConfigError("regimes(): the elbow curve needs three or more k values >= 1")
    # the extras the job ends with, checked before it reads or trains anything
    require("matplotlib", extra="plot", feature="sl.train.regimes (its PNGs)")
    require("skl2onnx", extra="serve", feature="sl.train.regimes (the ONNX export)")
    require("onnxruntime", extra="serve", feature="sl.train.regimes (the ONNX check)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    with bars(progress) as b:
        reading = b.task("reading", total=None)
        raw = read_frame(data, on_rows=lambda n: reading(n), on_total=lambda n: reading(0, total=n))
        reading(0, total=raw.height, completed=raw.height)
        bad = bad_records(data)
        if raw.height == 0:
            records = f"{bad:,} record{'s' if bad != 1 else ''}"
            why = f": {records} could not be decoded ({data.report})" if bad else ""
            raise ConfigError(f"no rows to train on: the input is empty{why}")
        frame, dropped = feature_frame(raw, list(features))
        X = frame.to_numpy().astype(np.float64)
        rows, weights = distinct_rows(X)
        elbow = b.task("elbow curve (k-means)", total=len(ks))
        costs = elbow_costs(X, ks, seed=seed, on_step=lambda _: elbow(1))
        if k is None and len(costs) < 3:
            raise ConfigError(
                f"the data has only {len(rows)} distinct values: too few for an elbow "
                "curve; pass k="
            )
        chosen = k if k is not None else knee(list(costs), list(costs.values()))
        if chosen > len(rows):
            raise ConfigError(f"k={chosen} but the data has only {len(rows)} distinct values")
        km = fit_kmeans(rows, chosen, seed=seed, weights=weights)
        labels = km.predict(X).astype(np.int32)
        counts = np.bincount(labels, minlength=chosen)
        if counts.min() < 2:
            raise ConfigError(
                f"k={chosen}: regime {int(counts.argmin())} has {int(counts.min())} row(s), "
                "too few for a stratified split; choose a smaller k"
            )
        X_train, X_test, y_train, y_test = train_test_split(
            X, labels, test_size=test_size, stratify=labels, random_state=seed
        )
        fitting = b.task("training the MLP", total=max_epochs)
        model, epochs = train_mlp(
            X_train,
            y_train,
            max_epochs=max_epochs,
            seed=seed,
            on_epoch=lambda e, loss: fitting(1, note=f"loss {loss:.4f}"),
        )
        fitting(0, total=epochs, completed=epochs)

    predicted = model.predict(X_test)
    accuracy = float(np.mean(predicted == y_test))
    matrix = confusion_matrix(y_test, predicted, labels=list(range(chosen)))
    data_onnx = to_onnx_bytes(model, n_features=len(features))
    mismatches = int(np.sum(onnx_labels(data_onnx, X_test) != predicted))

    from streamlearn.train.plots import confusion_png, elbow_png

    elbow_path = elbow_png(
        costs, chosen=chosen, path=out / "elbow.png", title=f"Elbow method: {', '.join(features)}"
    )
    confusion_path = confusion_png(matrix, path=out / "confusion.png", accuracy=accuracy)
    model_path = out / "model.onnx"
    model_path.write_bytes(data_onnx)

    centres = tuple(tuple(float(v) for v in c) for c in km.cluster_centers_)
    version = None
    model_name = name or f"{features[0].lower()}-regimes"
    if kafka is not None:
        version = _push(
            model_path,
            name=model_name,
            alias=alias,
            kafka=kafka,
            topic=registry_topic,
            artifact_topic=artifact_topic,
            features=features,
            profile=frame,
            metadata={
                "trainer": "streamlearn train",
                "k": chosen,
                "centres": [list(c) for c in centres],
                "accuracy": round(accuracy, 6),
                "train_rows": len(y_train),
            },
        )
    report = RegimesReport(
        k=chosen,
        k_chosen=k is None,
        costs=costs,
        centres=centres,
        accuracy=accuracy,
        confusion=tuple(tuple(int(v) for v in r) for r in matrix),
        onnx_mismatches=mismatches,
        rows=frame.height,
        dropped=dropped,
        bad_records=bad,
        train_rows=len(y_train),
        test_rows=len(y_test),
        epochs=epochs,
        features=features,
        out=out,
        elbow_png=elbow_path,
        confusion_png=confusion_path,
        model_path=model_path,
        name=model_name if version is not None else None,
        version=version,
        seconds=time.monotonic() - started,
        model=model,
    )
    (out / "report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    return report


def _push(
    path: Path,
    *,
    name: str,
    alias: str | Sequence[str] | None,
    kafka: Any,
    topic: str | None,
    artifact_topic: str | None,
    features: tuple[str, ...],
    profile: Any,
    metadata: dict[str, Any],
) -> int:
    from streamlearn.registry.control import Registry

    kwargs: dict[str, Any] = {}
    if topic:
        kwargs["topic"] = topic
    if artifact_topic:
        kwargs["artifact_topic"] = artifact_topic
    reg = Registry(kafka, **kwargs)
    v = reg.push(
        path, name=name, alias=alias, signature=list(features), profile=profile, metadata=metadata
    )
    return v.version
