"""``sl.ml.predict``: score a stream with models from the registry, swapped at run time.

The step reads the registry's control topic (and its artifact topic) as broadcast side
inputs: every instance reads them in full before its first batch, then between batches.
Before each batch it asks its table which version should score (the alias, ``champion``
by default, or a pinned ``version=``); when that changed, the new version is loaded,
verified (SHA-256, format, signature against the stream's columns) and only then
switched in. A batch is scored whole by one version, so every record is scored exactly
once, by the old or the new one, and carries the version in ``model_version`` (a
column) and in the Kafka header ``sl-model-version`` (``<model>:<version>``, written by
``sl.write.to_kafka``). A failed load is logged and counted in the run's metrics
(``<step>.load_errors``); the version that was scoring keeps scoring while it is valid.
With no valid version (never pushed, expired, deleted), the records go to the
dead-letter topic with the reason ``no model``, never on unscored.

Beside the plain form, one step can run an **A/B test** (``split=``), a **shadow**
(``shadow=``: a second model scores the same records, its results go to a topic of
their own and the agreement between the two to the metrics feed), several **models at
once** (a list of names), and report **label metrics** per variant (``label=``).
With a shadow or ``label=`` the step is *stateful*: what it measured is checkpointed
with the input offsets and survives restarts (:mod:`streamlearn.serve.evaluate`); like
every stateful step it is then named by its kind (``ml.predict``, not ``1-ml.predict``)
unless given ``name=``. Plain serving keeps no state and needs no state topic.

Examples
--------
>>> import streamlearn as sl
>>> op = sl.ml.predict("house-price", features=["rooms", "area"], output="price")
>>> op.kind, op.alias, [s.port for s in op.inputs()]
('ml.predict', 'champion', ['control', 'artifacts'])
>>> sl.ml.predict("house-price", output="price", shadow="challenger").shadow_topic
'price.shadow'
>>> op.stateful, sl.ml.predict("house-price", label="price").stateful
(False, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from streamlearn.core.errors import ConfigError
from streamlearn.core.operator import Operator, OutputTopic, SideInput, Step
from streamlearn.registry.records import ARTIFACT_TOPIC, CONTROL_TOPIC, check_name
from streamlearn.serve.agreement import check_task

if TYPE_CHECKING:
    from streamlearn.serve.loader import Loader

#: the dead-letter reason of records that no valid model version could score
NO_MODEL = "no model"
#: the Kafka header that names the model version that scored a record
VERSION_HEADER = "sl-model-version"


@dataclass(frozen=True)
class Binding:
    """One model of a predict step and the columns its results go to."""

    model: str
    output: str
    version_column: str


def default_column(model: str) -> str:
    """The output column of a model in a multi-model step: its name with ``-`` and ``.``
    as ``_``.

    >>> default_column("house-price")
    'house_price'
    """
    return model.replace("-", "_").replace(".", "_")


@dataclass(frozen=True)
class Predict(Operator):
    """Add a model's predictions as the column ``output``; see the module docstring.

    Parameters
    ----------
    model
        Registry name of the model, or several names: each is scored on every record,
        into its own columns (see ``output``).
    features
        Stream columns to feed, in any order (the block is built in the signature's
        order); default: the signature's feature names. A version whose signature names
        other features is refused.
    output
        Column of the predictions (default ``prediction``). With several models: one
        name per model, in order; default: each model's name with ``-`` and ``.`` as
        ``_`` (``house-price`` -> ``house_price``).
    alias, version
        What to score with: the alias (default ``champion``), or a pinned version.
    version_column
        Column carrying the version that scored each row (default ``model_version``).
        With several models: one per model; default ``<output>_version``.
    probabilities
        Classifiers: also add ``<output>_proba_<i>`` columns.
    threads
        ONNX Runtime intra-op threads per session.
    trusted
        Extra type names trusted when loading skops files.
    topic, artifact_topic
        The registry's control and artifact topics.
    split, by, variant_column
        A/B test: ``{"champion": 0.9, "challenger": 0.1}`` scores each record with one of
        these aliases, chosen by a stable hash (CRC-32) of ``by``: the record key
        (default), ``"partition"``, or a column name. The same key always meets the same
        variant, on every instance and after every restart. Each row carries its variant
        in ``variant_column``; per-variant counts go to the run's metrics
        (``<step>.variant.<alias>``).
    shadow, shadow_topic
        Shadow test: the alias of a second model that scores the same records. Its rows
        (the main output's columns, with its own prediction and version) go only to
        ``shadow_topic`` (default ``<name>.shadow`` for a named step, else
        ``<output>.shadow``), with the input record's ``sl-id``; the agreement between
        the two goes to the metrics feed (``<step>.shadow[<partition>]``). A shadow
        with no valid version, or one that fails, never touches the main output. The
        agreement survives restarts (the step's checkpointed state).
    label, task
        A column holding the true value (where the records carry it): each variant's
        (and the shadow's) accuracy or MAE goes to the metrics feed
        (``<step>.labels.<variant>[<partition>]``). ``task`` (``"classification"`` or
        ``"regression"``) is inferred from the predictions' type when not given. The
        metrics survive restarts (the step's checkpointed state).
    """

    model: str | tuple[str, ...] = ""
    features: tuple[str, ...] | None = None
    output: str | tuple[str, ...] | None = None
    alias: str | None = "champion"
    version: int | None = None
    version_column: str | tuple[str, ...] | None = None
    probabilities: bool = False
    threads: int = 1
    trusted: tuple[str, ...] = ()
    topic: str = CONTROL_TOPIC
    artifact_topic: str = ARTIFACT_TOPIC
    split: Mapping[str, float] | None = None
    by: str = "key"
    variant_column: str = "model_variant"
    shadow: str | None = None
    shadow_topic: str | None = None
    label: str | None = None
    task: str | None = None
    kind: str = field(default="ml.predict", init=False, repr=False)
    bindings: tuple[Binding, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        models = (self.model,) if isinstance(self.model, str) else tuple(self.model)
        for m in models:
            check_name(m)
        if not models:
            raise ConfigError("predict: give a model name")
        where = f"predict({models[0]!r})" if len(models) == 1 else f"predict({list(models)})"
        if self.version is not None and (not isinstance(self.version, int) or self.version < 1):
            raise ConfigError(f"{where}: version must be an integer >= 1")
        if self.version is not None and self.alias not in (None, "champion"):
            raise ConfigError(f"{where}: give alias= or version=, not both")
        if self.threads < 1:
            raise ConfigError(f"{where}: threads must be >= 1")
        check_task(self.task, where)
        if self.split is not None:
            self._check_split(where)
        if self.shadow is not None:
            check_name(self.shadow, "shadow alias")
            if self.split is not None:
                raise ConfigError(f"{where}: give split= or shadow=, not both")
            if self.shadow == self.alias and self.version is None:
                raise ConfigError(f"{where}: the shadow alias must differ from alias=")
        object.__setattr__(self, "bindings", self._bindings(models, where))
        if self.shadow is not None and self.shadow_topic is None:
            object.__setattr__(
                self, "shadow_topic", f"{self.name or self.bindings[0].output}.shadow"
            )
        # what it measures survives restarts: per spec, so plain serving has no state
        object.__setattr__(self, "stateful", self.shadow is not None or self.label is not None)

    def _check_split(self, where: str) -> None:
        split = dict(self.split or {})
        if len(split) < 2 or not all(isinstance(a, str) and a for a in split):
            raise ConfigError(f"{where}: split needs two or more aliases")
        if not all(isinstance(w, (int, float)) and w > 0 for w in split.values()):
            raise ConfigError(f"{where}: split weights must be > 0")
        if self.version is not None:
            raise ConfigError(f"{where}: give split= or version=, not both")
        if not self.by:
            raise ConfigError(f"{where}: by= must name the key, 'partition' or a column")
        object.__setattr__(self, "split", split)

    def _bindings(self, models: tuple[str, ...], where: str) -> tuple[Binding, ...]:
        if len(models) == 1:
            out = self.output if self.output is not None else "prediction"
            ver = self.version_column if self.version_column is not None else "model_version"
            if not isinstance(out, str) or not isinstance(ver, str):
                raise ConfigError(f"{where}: output= and version_column= take one name each")
            return (Binding(models[0], out, ver),)
        if self.split is not None or self.shadow is not None or self.label is not None:
            raise ConfigError(
                f"{where}: split=, shadow= and label= take one model; give each model "
                "its own sl.ml.predict step"
            )
        if len(set(models)) != len(models):
            raise ConfigError(f"{where}: a model is named twice")
        outs = _names(self.output, [default_column(m) for m in models], where, "output")
        vers = _names(self.version_column, [f"{o}_version" for o in outs], where, "version_column")
        return tuple(Binding(m, o, v) for m, o, v in zip(models, outs, vers, strict=True))

    def inputs(self) -> tuple[SideInput, ...]:
        from streamlearn import decode, read

        return (
            SideInput("control", read.from_kafka(self.topic) | decode.raw(), mode="broadcast"),
            SideInput(
                "artifacts", read.from_kafka(self.artifact_topic) | decode.raw(), mode="broadcast"
            ),
        )

    def outputs(self) -> tuple[OutputTopic, ...]:
        compact = {"cleanup.policy": "compact"}
        outs = [OutputTopic(self.topic, 1, compact), OutputTopic(self.artifact_topic, 1, compact)]
        if self.shadow_topic is not None:
            outs.append(OutputTopic(self.shadow_topic))  # as many partitions as the input
        return tuple(outs)

    def loader(self) -> Loader:
        """A fresh loader for this operator's models (one per run: the steps of a run's
        partitions share it through the run's context)."""
        from streamlearn.serve.loader import Loader

        pinned = self.version if self.shadow is None else None
        names = [b.model for b in self.bindings]
        return Loader(names, version=pinned, threads=self.threads, trusted=self.trusted)

    def build(self) -> Step:
        from streamlearn.serve.step import PredictStep

        return PredictStep(self)


def _names(given: Any, default: list[str], where: str, what: str) -> list[str]:
    if given is None:
        names = default
    elif isinstance(given, str) or len(given) != len(default):
        raise ConfigError(f"{where}: {what}= takes one name per model ({len(default)})")
    else:
        names = list(given)
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: {what} names must differ: {names}")
    return names


def predict(
    model: str | Sequence[str],
    *,
    features: Sequence[str] | None = None,
    output: str | Sequence[str] | None = None,
    alias: str | None = "champion",
    version: int | None = None,
    split: Mapping[str, float] | None = None,
    by: str = "key",
    shadow: str | None = None,
    label: str | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> Predict:
    """Score the stream with registry models; see :class:`Predict`.

    Examples
    --------
    >>> import streamlearn as sl
    >>> sl.ml.predict("house-price", version=3).version
    3
    >>> sl.ml.predict("house-price", split={"champion": 0.9, "challenger": 0.1}).split
    {'champion': 0.9, 'challenger': 0.1}
    >>> [(b.output, b.version_column) for b in sl.ml.predict(["house-price", "risk"]).bindings]
    [('house_price', 'house_price_version'), ('risk', 'risk_version')]

    On Kafka (the registry filled with ``sl.registry.push``)::

        sl.run(sl.read.from_kafka("houses") | sl.decode.json(schema)
               | sl.ml.predict("house-price", features=["rooms", "area"], output="price")
               | sl.write.to_kafka("houses-priced"), kafka="127.0.0.1:9092", name="pricing")
    """
    for key in ("version_column", "trusted"):
        if key in kwargs and kwargs[key] is not None and not isinstance(kwargs[key], str):
            kwargs[key] = tuple(kwargs[key])
    return Predict(
        model=model if isinstance(model, str) else tuple(model),
        features=tuple(features) if features is not None else None,
        output=output if output is None or isinstance(output, str) else tuple(output),
        alias=None if version is not None else alias,
        version=version,
        split=split,
        by=by,
        shadow=shadow,
        label=label,
        name=name,
        **kwargs,
    )


__all__ = ["NO_MODEL", "VERSION_HEADER", "Binding", "Predict", "default_column", "predict"]
