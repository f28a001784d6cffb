"""Online mini-batch training inside a pipeline: ``sl.ml.train``.

A torch module, a Keras 3 model or a scikit-learn ``partial_fit`` estimator (or a
streamlearn learner) keeps training on mini-batches of the stream; its training state is
operator state, snapshotted with the offsets, and it can publish itself to the registry
on a cadence. The operator is :class:`~streamlearn.ml.minibatch.operator.Train`; each
model kind has its adapter module (``torch_adapter``, ``keras_adapter``,
``sklearn_adapter``), imported only when a model of that kind is trained.

Examples
--------
>>> import numpy as np, polars as pl, streamlearn as sl
>>> from sklearn.linear_model import SGDRegressor
>>> df = pl.DataFrame({"x": np.linspace(0, 1, 100), "y": 3 * np.linspace(0, 1, 100)})
>>> op = sl.ml.train(SGDRegressor(random_state=0), ["x"], "y", batch_size=10)
>>> op.apply(df).height   # rows pass through; the model trained on 10 mini-batches
100
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streamlearn.ml.minibatch.operator import Train
from streamlearn.ml.publish import publish_spec
from streamlearn.registry.records import ARTIFACT_TOPIC, CONTROL_TOPIC


def train(
    model: Any,
    features: Sequence[str],
    label: str,
    *,
    batch_size: int = 256,
    checkpoint_every: int = 1,
    optimizer: Any = None,
    loss: Any = None,
    seed: int = 0,
    publish: str | None = None,
    every: int | None = None,
    alias: str | None = "champion",
    registry_topic: str = CONTROL_TOPIC,
    artifact_topic: str = ARTIFACT_TOPIC,
    name: str | None = None,
) -> Train:
    """Keep training ``model`` on mini-batches of ``batch_size`` records as they arrive.

    Records pass through unchanged. Each partition trains its own copy of ``model`` (the
    object given is a template and is never trained itself).

    Parameters
    ----------
    model
        A ``torch.nn.Module``; a compiled Keras 3 model (``KERAS_BACKEND=torch`` to
        publish it); a scikit-learn estimator with ``partial_fit`` (wrap a classifier in
        ``sl.ml.SklearnPartialFit(est, classes=[...])`` when the first mini-batch may not
        hold every class); or a streamlearn learner.
    features
        Numeric feature columns, in the order the model takes them.
    label
        Label column: integers (classes) or reals for torch and Keras; any value for
        scikit-learn and streamlearn learners. Rows with no label or a non-finite
        feature are skipped and counted.
    batch_size
        Rows per mini-batch; rows of an incomplete one wait in the step's state.
    checkpoint_every
        Mini-batches between two encodings of the weights into the snapshot (the rows
        trained in between are snapshotted instead and trained again on restore, to
        the same result); 1 encodes them in every snapshot that follows training.
    optimizer, loss
        torch only: an optimizer built on ``model.parameters()`` (its class and settings
        are used for each copy) or a callable ``params -> optimizer``, default
        ``Adam(lr=1e-3)``; a loss module, default cross-entropy for integer labels and
        mean squared error for real ones.
    seed
        Seeds the step's own torch random generator (dropout...; torch modules and Keras
        on the torch backend).
    publish, every, alias
        Push a version of the model to the registry as ``publish`` each time another
        ``every`` records were trained, and point ``alias`` at it (``None``: no alias).
        torch and Keras models go as ONNX, scikit-learn estimators as ONNX (skl2onnx),
        streamlearn learners in the ``"streamlearn"`` format; ``sl.ml.predict(publish)``
        scores with them. Needs an input of one partition.
    registry_topic, artifact_topic
        The registry's control and artifact topics.
    name
        Step name (keys the state; give one if the pipeline may be edited).

    Examples
    --------
    >>> import numpy as np, polars as pl, torch, streamlearn as sl
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(2000, 2))
    >>> df = pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > x[:, 1]).astype(int)})
    >>> op = sl.ml.train(net, ["a", "b"], "y", batch_size=50,
    ...                  optimizer=torch.optim.Adam(net.parameters(), lr=0.05))
    >>> step = op.build()
    >>> _ = step.process(sl.Batch.from_frame(df), sl.Context())
    >>> step.report()["batches"], step.report()["loss"] < 0.3
    (40, True)

    On Kafka, publishing a version every 10,000 records (``sl.ml.predict("fraud")``
    elsewhere scores with each new one)::

        sl.run(sl.read.from_kafka("payments") | sl.decode.json(schema)
               | sl.ml.train(net, features, "fraud", batch_size=256,
                             publish="fraud", every=10_000),
               kafka="127.0.0.1:9092", name="fraud-training")
    """
    return Train(
        model=model,
        features=tuple(features),
        label=label,
        batch_size=batch_size,
        checkpoint_every=checkpoint_every,
        optimizer=optimizer,
        loss=loss,
        seed=seed,
        publish=publish_spec(publish, every, alias, registry_topic, artifact_topic),
        name=name,
    )


__all__ = ["Train", "train"]
