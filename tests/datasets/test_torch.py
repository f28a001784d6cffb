"""The torch and Keras adapters over a real topic: shares of DataLoader workers, float32
batches, epochs that read the same records."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import streamlearn as sl
from streamlearn.core.errors import ConfigError
from tests.datasets.conftest import produce_settled

SCHEMA = {"i": "int", "a": "float", "b": "float", "y": "int"}

pytestmark = pytest.mark.broker


def _fill(kafka, topic, n, partitions):
    values = [json.dumps({"i": i, "a": i / n, "b": -i / n, "y": i % 2}).encode() for i in range(n)]
    produce_settled(kafka, topic, values, partitions=partitions)


@pytest.mark.parametrize("partitions,workers", [(3, 2), (1, 2)])
def test_dataloader_workers_read_every_record_once(kafka, topic_factory, partitions, workers):
    topic = topic_factory(partitions=partitions)
    _fill(kafka, topic, 3000, partitions)
    ds = sl.datasets.from_kafka(topic, decode=sl.decode.json(SCHEMA), kafka=kafka)
    tds = ds.torch(["a", "b"], "y", batch_size=128, with_offsets=True)
    loader = DataLoader(tds, batch_size=None, num_workers=workers, multiprocessing_context="spawn")
    seen = []
    for x, y, where in loader:
        assert x.dtype == torch.float32 and y.dtype == torch.float32
        assert x.shape[1] == 2 and len(x) == len(y) == len(where) <= 128
        seen.extend(map(tuple, where.tolist()))
    assert len(seen) == 3000 and len(set(seen)) == 3000
    assert {p for p, _ in seen} == set(range(partitions))


def test_epochs_read_the_same_records_and_shuffle_differs(kafka, topic_factory):
    topic = topic_factory()
    _fill(kafka, topic, 1000, 1)
    ds = sl.datasets.from_kafka(topic, decode=sl.decode.json(SCHEMA), kafka=kafka)
    tds = ds.torch(["a", "b"], "y", batch_size=100, shuffle=True, seed=3, with_offsets=True)
    epochs = [[o for _, _, w in tds for o in w[:, 1].tolist()] for _ in range(2)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(1000))
    assert epochs[0] != epochs[1]  # reshuffled per epoch
    x, y = next(iter(ds.torch(["a", "b"], "y", batch_size=10)))
    assert np.allclose(x[:, 0].numpy(), -x[:, 1].numpy()) and y.tolist() == [0, 1] * 5


def test_keras_fit_reads_the_topic_every_epoch(kafka, topic_factory):
    from streamlearn.datasets.keras import keras  # sets KERAS_BACKEND=torch first

    topic = topic_factory()
    _fill(kafka, topic, 2000, 1)
    ds = sl.datasets.from_kafka(topic, decode=sl.decode.json(SCHEMA), kafka=kafka)
    data = ds.keras(["a", "b"], "y", batch_size=200)
    assert len(data) == 10
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(data, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    assert data.reads >= 3  # the topic read for every epoch (Keras may begin one more to peek)


def test_group_datasets_have_no_fixed_records_to_share(kafka, topic_factory):
    ds = sl.datasets.from_kafka(topic_factory(), kafka=kafka, group="g")
    with pytest.raises(ConfigError, match="bounded"):
        ds.torch(["a"], "y")
