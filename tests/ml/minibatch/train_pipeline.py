"""The pipeline that tests/ml/minibatch/test_train_crash.py runs with ``streamlearn run``
and kills: a seeded torch network (with dropout) trained on mini-batches, publishing a
version every 20 mini-batches. Topics come from environment variables set by the test
(the library never reads the environment; this file is test scaffolding)."""

import os

import torch

import streamlearn as sl

FEATURES = ["a", "b", "c"]
SCHEMA = {"a": "float", "b": "float", "c": "float", "y": "int"}
BATCH, EVERY = 64, 64 * 20


def training(control: str, artifacts: str) -> sl.ml.Train:
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 2)
    )
    return sl.ml.train(
        net,
        FEATURES,
        "y",
        batch_size=BATCH,
        checkpoint_every=3,
        optimizer=torch.optim.Adam(net.parameters(), lr=0.01),
        seed=7,
        publish="clf",
        every=EVERY,
        registry_topic=control,
        artifact_topic=artifacts,
        name="train",
    )


def pipeline() -> sl.Pipeline:
    return (
        sl.read.from_kafka(os.environ["TRAIN_SRC"], max_batch=300)
        | sl.decode.json(SCHEMA)
        | training(os.environ["TRAIN_CONTROL"], os.environ["TRAIN_ARTS"])
        | sl.write.to_kafka(os.environ["TRAIN_OUT"])
    )
