"""``sl.train.regimes`` offline: inputs (frame, files, datasets), the files it writes,
given k, bad input as one-line errors. The 50,000-reading acceptance run is
tests/scenarios/test_s2_training.py."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.datasets.synth import generate_temperature_frame
from streamlearn.train.export import onnx_labels

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return generate_temperature_frame(12_000, seed=11)


def test_a_parquet_file_gives_the_model_files_and_report(frame, tmp_path):
    path = tmp_path / "t.parquet"
    frame.write_parquet(path)
    report = sl.train.regimes(path, out=tmp_path / "out", k=6)
    assert report.k == 6 and not report.k_chosen and report.version is None
    assert report.rows == 12_000 and report.train_rows == 7_200 and report.test_rows == 4_800
    for png in (report.elbow_png, report.confusion_png):
        assert png.read_bytes()[:8] == PNG and png.stat().st_size > 10_000
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["k"] == 6 and saved["model_path"] == str(report.model_path)
    assert sorted(saved["costs"], key=int) == [str(k) for k in range(2, 20)]
    # the confusion matrix counts the test rows; its diagonal is the accuracy
    m = np.asarray(report.confusion)
    assert m.sum() == report.test_rows
    assert np.trace(m) / m.sum() == pytest.approx(report.accuracy)
    # the saved model labels temperatures as k-means does: by the nearest centre
    centres = np.asarray(report.centres).ravel()
    temps = np.arange(40, 71, dtype=np.float64)[:, None]
    nearest = np.abs(temps - centres[None, :]).argmin(axis=1)
    got = onnx_labels(report.model_path.read_bytes(), temps)
    assert (got == nearest).mean() >= 0.95  # at most a boundary temperature or so off


def test_csv_and_ndjson_files_with_missing_values(frame, tmp_path):
    broken = frame.with_columns(
        frame["Temperature"].cast(pl.Float64).scatter([1, 7], [None, float("nan")])
    )
    broken.write_csv(tmp_path / "t.csv")
    broken.write_ndjson(tmp_path / "t.ndjson")
    for name in ("t.csv", "t.ndjson"):
        report = sl.train.regimes(tmp_path / name, out=tmp_path / name[2:], k=6, max_epochs=40)
        assert report.rows == 11_998 and report.dropped == 2
        assert report.accuracy >= 0.97


class Frames:
    """A dataset as sl.datasets makes them: frames of rows, a slice that knows how many
    records it covers, and a report of the records it could not decode."""

    class _Slice:
        records = 12_003

    class _Report:
        dead_lettered = 3

    slice, report = _Slice(), _Report()

    def __init__(self, df: pl.DataFrame) -> None:
        self.df, self.read = df, 0

    def frames(self):
        for start in range(0, self.df.height, 5_000):
            self.read += 1
            yield self.df.slice(start, 5_000)


def test_a_dataset_is_read_frame_by_frame_and_its_bad_records_counted(frame, tmp_path):
    ds = Frames(frame.select("Temperature"))
    report = sl.train.regimes(ds, out=tmp_path, max_epochs=40)
    assert ds.read == 3 and report.rows == 12_000 and report.k == 6 and report.k_chosen
    assert report.bad_records == 3 and report.dropped == 0


def test_several_columns(tmp_path):
    df = sl.datasets.synth.generate_trades_frame(6_000, seed=4)
    report = sl.train.regimes(df, column=["bid", "ask"], out=tmp_path, ks=range(2, 10))
    assert report.k == 3 and report.features == ("bid", "ask")
    assert report.accuracy >= 0.97 and report.onnx_mismatches == 0
    assert [round(c[0]) for c in report.centres] == [100, 110, 120]


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        ("nope.csv", {}, "no such file: nope.csv"),
        (pl.DataFrame({"x": [1.0]}), {}, "no column 'Temperature' in the data"),
        (pl.DataFrame({"Temperature": ["a"]}), {}, "is String, not numeric"),
        (
            pl.DataFrame({"Temperature": [None, None]}, schema={"Temperature": pl.Int64}),
            {},
            "no rows to train on",
        ),
        (pl.DataFrame({"Temperature": [1, 2, 1, 2]}), {}, "only 2 distinct values"),
        (pl.DataFrame({"Temperature": [1, 2, 3, 3]}), {"k": 3}, "regime 0 has 1 row"),
        (pl.DataFrame({"Temperature": [1, 2]}), {"k": 1}, "k must be >= 2"),
        (pl.DataFrame({"Temperature": [1, 2]}), {"test_size": 1.5}, "test_size"),
        (42, {}, "cannot train from a int"),
    ],
)
def test_bad_input_is_a_config_error(data, kwargs, message, tmp_path):
    with pytest.raises(sl.ConfigError, match=message):
        sl.train.regimes(data, out=tmp_path, **kwargs)


def test_an_empty_dataset_says_why(tmp_path):
    class Empty(Frames):
        def frames(self):
            return iter(())

    with pytest.raises(sl.ConfigError, match=r"the input is empty: 3 records could not be"):
        sl.train.regimes(Empty(pl.DataFrame()), out=tmp_path)
    with pytest.raises(sl.ConfigError, match=r"no rows to train on: the input is empty$"):
        sl.train.regimes(pl.DataFrame(), out=tmp_path)


def test_an_unknown_file_type_is_named(tmp_path):
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(sl.ConfigError, match=r"cannot tell the format of 't\.xlsx'"):
        sl.train.regimes(tmp_path / "t.xlsx", out=tmp_path)


def test_a_missing_extra_is_one_line_before_any_work(monkeypatch, tmp_path):
    import sys

    from streamlearn.core.extras import MissingExtraError

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'streamlearn\[plot\]'"):
        sl.train.regimes("never-read.csv", out=tmp_path)
