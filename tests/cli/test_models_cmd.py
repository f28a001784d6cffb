"""``streamlearn models ...`` against the local broker (in a Typer app of the test's own:
the main command registers the sub-app with one line)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from streamlearn.cli.models_cmd import app as models_app
from tests.serve.houses import FEATURES, linear_onnx

pytestmark = pytest.mark.broker
app = typer.Typer()
app.add_typer(models_app, name="models")
cli = CliRunner()


def test_models_push_list_show_promote_rollback_expire_delete(kafka, topic_factory, tmp_path):
    path = tmp_path / "house.onnx"
    path.write_bytes(linear_onnx([1, 2, 3, 4]))
    common = ["-b", kafka.bootstrap_servers, "--topic", f"m-{topic_factory()}"]

    def run(*args):
        res = cli.invoke(app, ["models", *args, *common])
        return res.exit_code, res.output

    features = ",".join(FEATURES)
    assert (
        run(
            "push",
            str(path),
            "--name",
            "house-price",
            "--alias",
            "champion",
            "--features",
            features,
        )[0]
        == 0
    )
    code, out = run(
        "push",
        str(path),
        "--name",
        "house-price",
        "--alias",
        "challenger",
        "-f",
        features,
        "--meta",
        "run=7",
        "--json",
    )
    assert code == 0 and json.loads(out.splitlines()[-1])["version"] == 2
    code, out = run("list", "--json")
    assert [(v["version"], v["aliases"]) for v in json.loads(out)] == [
        (1, ["champion"]),
        (2, ["challenger"]),
    ]
    assert run("promote", "house-price", "2")[1].strip() == "house-price@champion -> v2"
    assert run("rollback", "house-price")[1].strip() == "house-price@champion -> v1"
    assert run("expire", "house-price", "2", "--at", "2026-12-31T00:00Z")[0] == 0
    doc = json.loads(run("show", "house-price")[1])
    assert doc["versions"][1]["expires_at"] == 1798675200.0
    assert doc["versions"][1]["metadata"] == {"run": "7"}
    assert run("delete", "house-price", "1")[0] == 0
    assert [v["version"] for v in json.loads(run("list", "--json")[1])] == [2]
    code, out = run("promote", "house-price", "9")
    assert code == 1 and out.strip() == "error: house-price has no version 9"
    code, out = run("push", str(path), "--name", "house-price", "-f", "a,b")
    assert code == 1 and "do not match" in out and "Traceback" not in out


def test_models_push_of_a_river_file_takes_the_river_format(kafka, topic_factory, tmp_path):
    from river import linear_model, preprocessing

    from streamlearn.formats.river import dump_river
    from streamlearn.registry.control import Registry
    from streamlearn.registry.store import artifact_bytes
    from streamlearn.serve.loader import load_scorer

    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    for i in range(200):
        model.learn_one({"a": float(i % 7), "b": float(i % 3)}, i % 7 > 3)
    path = tmp_path / "churn.river"
    path.write_bytes(dump_river(model))
    topic = f"m-{topic_factory()}"
    common = ["-b", kafka.bootstrap_servers, "--topic", topic]
    res = cli.invoke(app, ["models", "push", str(path), "-n", "churn", "-f", "a,b", *common])
    assert res.exit_code == 0, res.output
    assert "(river," in res.output
    listed = json.loads(cli.invoke(app, ["models", "list", "--json", *common]).output)
    assert [(v["name"], v["format"]) for v in listed] == [("churn", "river")]
    v = Registry(kafka, topic=topic).table().versions["churn"][1]
    assert v.signature.names == ("a", "b")
    scorer = load_scorer(v.format, artifact_bytes(v), v.signature)
    assert scorer.predict(np.array([[5.0, 1.0]], dtype=np.float32))[0].tolist() == [
        model.predict_one({"a": 5.0, "b": 1.0})
    ]
    # without --features the file names no inputs: one line, no traceback
    res = cli.invoke(app, ["models", "push", str(path), "-n", "churn", *common])
    assert res.exit_code == 1 and "signature" in res.output and "Traceback" not in res.output
