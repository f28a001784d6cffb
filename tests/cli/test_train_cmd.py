"""``streamlearn train`` on files: the report, the files, one-line errors, --help.
The topic path on the broker is in tests/scenarios/test_s2_training.py."""

from __future__ import annotations

import json

import polars as pl
import pytest

from streamlearn.datasets.synth import generate_temperature_frame
from tests.cli._run import cli, lines


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("s2") / "temperature.csv"
    generate_temperature_frame(10_000, seed=3).drop("regime_true").write_csv(path)
    return path


def test_train_from_a_csv_writes_the_files_and_prints_the_report(csv_file, tmp_path):
    out = tmp_path / "model"
    done = cli("train", "--file", str(csv_file), "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(lines(done.stdout)[-1])
    assert report["k"] == 6 and report["k_chosen"] and report["rows"] == 10_000
    assert report["accuracy"] >= 0.97 and report["version"] is None
    assert sorted(p.name for p in out.iterdir()) == [
        "confusion.png",
        "elbow.png",
        "model.onnx",
        "report.json",
    ]
    assert json.loads((out / "report.json").read_text())["k"] == 6
    assert "k = 6 (the bend of the elbow curve)" in done.stdout
    assert "registry: not pushed" in done.stdout
    assert "model not pushed" in done.stderr  # no cluster given: said so
    assert "training the MLP" in done.stderr  # the progress bars


def test_a_given_k_and_a_parquet_file(tmp_path):
    path = tmp_path / "t.parquet"
    df = generate_temperature_frame(6_000, seed=4).rename({"Temperature": "temp"})
    df.write_parquet(path)
    done = cli(
        "train", "-f", str(path), "-c", "temp", "--k", "3", "-o", str(tmp_path / "o"), "--json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(lines(done.stdout)[-1])
    assert report["k"] == 3 and not report["k_chosen"] and report["features"] == ["temp"]
    assert "k = 3 (given)" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give exactly one of --file or --topic"),
        (("--file", "a.csv", "--topic", "t"), "give exactly one of --file or --topic"),
        (("--file", "missing.csv"), "no such file: missing.csv"),
        (("--file", "{csv}", "--column", "nope"), "no column 'nope' in the data"),
        (("--file", "{csv}", "--column", "time"), "column 'time' is String, not numeric"),
        (("--file", "{csv}", "--k", "1"), "--k"),
        (("--file", "{csv}", "--k-max", "3"), "--k-max"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, csv_file, tmp_path):
    args = tuple(a.replace("{csv}", str(csv_file)) for a in args)
    done = cli("train", *args, "--out", str(tmp_path))
    assert done.returncode == 2, (done.stdout, done.stderr)
    last = lines(done.stderr)[-1]
    assert last.startswith("error: ") and message in last, done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_cluster_is_one_line(csv_file, tmp_path):
    done = cli("train", "--file", str(csv_file), "-b", "127.0.0.1:1", "--out", str(tmp_path))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert lines(done.stderr)[-1].startswith("error: ")


def test_help_names_the_steps_and_the_inputs():
    done = cli("train", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for word in ("--topic", "--file", "--column", "--k", "--out", "--name", "--alias", "elbow"):
        assert word in text, word
    assert "streamlearn train --topic example_1" in text


def test_rows_without_a_value_are_left_out_and_said(tmp_path):
    path = tmp_path / "gaps.ndjson"
    df = generate_temperature_frame(6_000, seed=6).drop("regime_true")
    df = df.with_columns(df["Temperature"].cast(pl.Float64).scatter([0, 9], [None, None]))
    df.write_ndjson(path)
    done = cli("train", "-f", str(path), "-o", str(tmp_path / "o"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(lines(done.stdout)[-1])["dropped"] == 2
    assert "2 rows without a value in Temperature: left out" in done.stderr


def test_a_missing_file_is_refused_before_any_progress_bar(tmp_path):
    done = cli("train", "--file", str(tmp_path / "missing.csv"), "--out", str(tmp_path))
    assert done.returncode == 2
    (only,) = lines(done.stderr)  # one line: no "reading" bar drawn before it
    assert only.startswith("error: Invalid value for --file: no such file: ")
