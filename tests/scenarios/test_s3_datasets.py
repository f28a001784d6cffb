"""Acceptance test of scenario S3, datasets half: train and infer straight from topics.

A SUSY-like set (18 features, binary label, Bayes accuracy known exactly: 0.79) is
written to ``susy-train`` (1 partition) and ``susy-test`` (2 partitions). A small torch
network trains from the topic for several epochs (each epoch the same records, checked
by their offsets) and must come within 0.02 of the Bayes accuracy on the test topic;
Keras fits from the same dataset. Inference runs as a consumer-group dataset that writes
predictions: a second run of the group reads nothing, a new group reads everything. The
lag per partition is checked while a producer is still writing, on librdkafka's mock
cluster (Tansu's high watermark is wrong, BROKERS.md).

The topics are produced with each partition's last record in a batch of its own, so
``end="now"`` is the log end on Tansu too; the counts read are compared with what was
produced, so a read that stops short or runs over fails.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import numpy as np
import pytest
import torch

import streamlearn as sl
from streamlearn.datasets.synth.susy import (
    SUSY_BAYES_ACCURACY,
    SUSY_FEATURES,
    SUSY_SCHEMA,
    generate_susy,
)
from streamlearn.kafka.admin import ensure_topics
from tests.datasets.conftest import (  # noqa: F401 (fixtures)
    mock_cluster,
    mock_kafka,
    mock_topic,
    produce_settled,
)
from tests.kafka_helpers import consume_all, produce

pytestmark = pytest.mark.broker

N_TRAIN, N_TEST = 40_000, 20_000
FEATURES = list(SUSY_FEATURES)


@pytest.fixture(scope="module")
def susy(kafka):
    tag = uuid.uuid4().hex[:6]
    train, test = f"susy-train-{tag}", f"susy-test-{tag}"
    ensure_topics(kafka, {train: 1, test: 2})
    produce_settled(kafka, train, generate_susy(N_TRAIN, seed=1))
    produce_settled(kafka, test, generate_susy(N_TEST, seed=2, first_id=N_TRAIN), partitions=2)
    return train, test


def _dataset(kafka, topic, **kw):
    return sl.datasets.from_kafka(topic, decode=sl.decode.json(SUSY_SCHEMA), kafka=kafka, **kw)


def _signed_log(x):
    return np.sign(x) * np.log1p(np.abs(x))


def _standardiser(kafka, train):
    z = _signed_log(_dataset(kafka, train).to_numpy(FEATURES, dtype=np.float32))
    return torch.from_numpy(z.mean(0)), torch.from_numpy(z.std(0))


def _inputs(x, stats):
    mean, std = stats
    return (torch.sign(x) * torch.log1p(torch.abs(x)) - mean) / std


def test_torch_trains_from_the_topic_to_near_the_bayes_accuracy(kafka, susy):
    train, test = susy
    ds = _dataset(kafka, train)
    assert ds.slice.records == N_TRAIN
    stats = _standardiser(kafka, train)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(18, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    tds = ds.torch(FEATURES, "label", batch_size=256, shuffle=True, with_offsets=True)
    loader = tds.loader(num_workers=2)
    epochs = []
    for _ in range(6):
        seen = []
        for x, y, where in loader:
            opt.zero_grad()
            loss = loss_fn(net(_inputs(x, stats)).squeeze(1), y)
            loss.backward()
            opt.step()
            seen.append(where)
        epochs.append(torch.cat(seen))
    offsets = [sorted(map(tuple, e.tolist())) for e in epochs]
    assert offsets[0] == [(0, o) for o in range(N_TRAIN)]  # every record, once
    assert all(o == offsets[0] for o in offsets[1:])  # each epoch the same records

    x_test, y_test = _dataset(kafka, test).to_numpy(FEATURES, "label", dtype=np.float32)
    assert len(y_test) == N_TEST
    with torch.no_grad():
        pred = net(_inputs(torch.from_numpy(x_test), stats)).squeeze(1) > 0
    accuracy = float((pred.numpy() == y_test.astype(bool)).mean())
    assert abs(accuracy - SUSY_BAYES_ACCURACY) <= 0.02, accuracy


def test_keras_fits_from_the_same_dataset(kafka, susy):
    from streamlearn.datasets.keras import keras  # KERAS_BACKEND=torch

    train, _ = susy
    keras.utils.set_random_seed(0)
    ds = _dataset(kafka, train).pipe(sl.ml.standard_scaler(FEATURES))
    data = ds.keras(FEATURES, "label", batch_size=256)
    model = keras.Sequential(
        [
            keras.Input((18,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(data, epochs=5, verbose=0)
    assert len(data) == N_TRAIN // 256 + 1 and data.reads >= 5
    assert history.history["accuracy"][-1] > SUSY_BAYES_ACCURACY - 0.04


def test_group_inference_reads_each_record_once_per_group(kafka, susy):
    train, test = susy
    x, y = _dataset(kafka, train).to_numpy(FEATURES, "label")
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=500).fit(_signed_log(x), y)
    out = f"{test}-predictions"
    ensure_topics(kafka, {out: 1})
    group = f"{test}-infer"

    def infer() -> int:
        ds = _dataset(kafka, test, group=group)
        n = 0
        for batch in ds.batches(5000):
            xb = batch.select(FEATURES).to_numpy()
            p = model.predict_proba(_signed_log(xb))[:, 1]
            values = [
                json.dumps({"id": int(i), "p": float(q)}).encode()
                for i, q in zip(batch["id"], p, strict=True)
            ]
            produce(kafka, out, values)
            n += batch.height
        return n

    assert infer() == N_TEST
    assert infer() == 0  # the same group again: nothing new
    assert _dataset(kafka, test, group=f"{test}-other").to_polars().height == N_TEST
    preds = consume_all(kafka, out, expected=N_TEST)
    ids = sorted(json.loads(m.value())["id"] for m in preds)
    assert ids == list(range(N_TRAIN, N_TRAIN + N_TEST))


def test_lag_is_right_while_a_producer_writes(mock_kafka, mock_topic):  # noqa: F811
    topic = mock_topic(2)
    total, chunk = 4000, 200
    values = generate_susy(total, seed=3)
    produce_settled(mock_kafka, topic, values[:1000], partitions=2)
    group = f"{topic}-g"
    consumed = _dataset(mock_kafka, topic, group=group).to_polars().height
    assert consumed == 1000
    produced = [1000]
    done = threading.Event()

    def write() -> None:
        for lo in range(1000, total, chunk):
            produce_settled(mock_kafka, topic, values[lo : lo + chunk], partitions=2)
            produced.append(lo + chunk)
            time.sleep(0.05)
        done.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    checks = 0
    while not done.is_set():
        before = produced[-1]
        lag = _dataset(mock_kafka, topic, group=group).lag()
        after = produced[-1]
        # delivered records minus the 1000 committed, however the writes interleave
        assert before - 1000 <= sum(lag.values()) <= after - 1000 + chunk, (lag, before, after)
        assert set(lag) == {0, 1}
        checks += 1
    writer.join()
    assert checks >= 2
    final = _dataset(mock_kafka, topic, group=group).lag()
    assert final == {0: (total - 1000) // 2, 1: (total - 1000) // 2}
