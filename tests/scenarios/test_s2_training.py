"""Acceptance test of scenario S2's offline half: find the machine's work regimes and
train the model that tells them, from a DataFrame and from a topic (``streamlearn train``).

The data: 50,000 temperature readings (integers 40..70) from six work regimes that
follow a Markov chain (``sl.datasets.synth.generate_temperature``). The elbow curve
(k = 2..19) must bend at the true number of regimes, the k-means labels must be the true
regimes, the 1-6-8-6 perceptron must reach a test accuracy >= 0.97 (the original reached
0.80: k-means labels of 1-D data are a step function an MLP can learn exactly), and the
ONNX model must give scikit-learn's labels.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import streamlearn as sl
from streamlearn.datasets.synth import REGIME_LEVELS, generate_temperature_frame
from streamlearn.train.export import onnx_labels
from tests.cli._run import cli
from tests.kafka_helpers import produce

N = 50_000
TRUE_K = len(REGIME_LEVELS)


def test_s2_offline_from_a_frame(tmp_path):
    frame = generate_temperature_frame(N, seed=5)
    report = sl.train.regimes(frame, column="Temperature", out=tmp_path)

    # the elbow curve, k = 2..19, saved as a PNG, bends at the true number of regimes
    assert list(report.costs) == list(range(2, 20))
    assert report.k_chosen and report.k == TRUE_K
    png = report.elbow_png.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    assert matplotlib.image.imread(report.elbow_png).shape[:2] == (420, 700)
    # past the bend the curve is flat: one more cluster gains little
    c = report.costs
    assert (c[TRUE_K - 1] - c[TRUE_K]) > 5 * (c[TRUE_K] - c[TRUE_K + 1])

    # the k-means labels are the machine's true regimes (ordered by temperature)
    centres = np.asarray(report.centres).ravel()
    assert np.abs(centres - np.asarray(REGIME_LEVELS)).max() < 0.25
    temps = frame["Temperature"].to_numpy().astype(np.float64)[:, None]
    labels = report.model.predict(temps)
    assert (labels == frame["regime_true"].to_numpy()).mean() > 0.99

    # the 1-6-8-6 perceptron on a stratified 60/40 split
    mlp = report.model.steps[-1][1]
    assert mlp.hidden_layer_sizes == (6, 8) and mlp.n_outputs_ == TRUE_K
    assert (report.train_rows, report.test_rows) == (30_000, 20_000)
    assert report.accuracy >= 0.97
    m = np.asarray(report.confusion)
    assert m.shape == (TRUE_K, TRUE_K) and m.sum() == 20_000
    assert report.confusion_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # ONNX gives scikit-learn's labels, on the test rows (the job) and on every reading
    assert report.onnx_mismatches == 0
    onnx = onnx_labels(report.model_path.read_bytes(), temps)
    assert (onnx == labels).all()
    assert report.version is None  # no cluster: saved to a file only


@pytest.mark.broker
def test_s2_offline_from_a_topic_with_streamlearn_train(kafka, topic_factory, tmp_path):
    topic = topic_factory(prefix="example_1")
    control, artifacts = topic_factory(prefix="models"), topic_factory(prefix="arts")
    produced = cli(
        "produce",
        topic,
        "--generator",
        "temperature",
        "--records",
        str(N),
        "--seed",
        "8",
        "-b",
        kafka.bootstrap_servers,
    )
    assert produced.returncode == 0, produced.stderr
    # one bad reading last, in a batch of its own: counted, never trained on, and the
    # last batch holds one record, so Tansu's high watermark (BROKERS.md) is the log end
    produce(kafka, topic, [b'{"time": "2026-01-02T00:00:00", "Temperature": null}'])
    name = f"s2-{topic}"
    done = cli(
        "train",
        "--topic",
        topic,
        "-b",
        kafka.bootstrap_servers,
        "--name",
        name,
        "--registry-topic",
        control,
        "--artifact-topic",
        artifacts,
        "--out",
        str(tmp_path / "s2"),
        "--json",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rows"] == N and report["bad_records"] == 1
    assert report["k"] == TRUE_K and report["k_chosen"]
    assert report["accuracy"] >= 0.97 and report["onnx_mismatches"] == 0
    assert report["name"] == name and report["version"] == 1
    assert f"registry: {name} v1" in done.stdout
    for key in ("elbow_png", "confusion_png", "model_path"):
        assert (tmp_path / "s2").joinpath(report[key].rsplit("/", 1)[1]).stat().st_size > 0

    # the registry holds the model, its signature and profile, and the alias
    reg = sl.registry.Registry(kafka, topic=control, artifact_topic=artifacts)
    shown = reg.show(name)
    v = shown["versions"][0]
    assert v["format"] == "onnx" and v["metadata"]["k"] == TRUE_K
    assert v["signature"]["features"][0]["name"] == "Temperature"
    assert v["profile"]["features"]["Temperature"]["min"] >= 40
    assert shown["aliases"]["champion"]["version"] == 1
    # the same bytes as model.onnx
    assert (
        reg.resolve(name).sha256
        == hashlib.sha256((tmp_path / "s2" / "model.onnx").read_bytes()).hexdigest()
    )
