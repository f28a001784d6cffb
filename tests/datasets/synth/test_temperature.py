"""The S2 temperature generator: integers 40..70 from regimes that persist over time."""

from __future__ import annotations

import numpy as np
import orjson
import polars as pl

from streamlearn.datasets.synth.temperature import (
    REGIME_LEVELS,
    TEMPERATURE_SCHEMA,
    generate_temperature,
    generate_temperature_frame,
)


def test_readings_are_integers_40_to_70_near_their_regime_level():
    df = generate_temperature_frame(50_000, seed=3)
    t = df["Temperature"].to_numpy()
    assert df.height == 50_000 and df.schema["Temperature"] == pl.Int64
    assert t.min() >= 40 and t.max() <= 70
    levels = np.asarray(REGIME_LEVELS)[df["regime_true"].to_numpy()]
    assert np.abs(t - levels).max() <= 4  # 5 sigma of 0.8, rounded
    assert set(df["regime_true"].unique().to_list()) == set(range(len(REGIME_LEVELS)))


def test_regimes_form_runs_that_switch_to_another_regime():
    r = generate_temperature_frame(50_000, seed=4, mean_dwell=200)["regime_true"].to_numpy()
    switches = np.flatnonzero(np.diff(r) != 0)
    assert 150 < len(switches) < 350  # about 50_000 / 200 runs
    assert (r[switches] != r[switches + 1]).all()


def test_json_records_match_the_frame_and_the_schema():
    values = generate_temperature(5, seed=2, interval_s=0.5)
    frame = generate_temperature_frame(5, seed=2, interval_s=0.5)
    rows = [orjson.loads(v) for v in values]
    assert [sorted(r) for r in rows] == [sorted(TEMPERATURE_SCHEMA)] * 5
    assert [r["Temperature"] for r in rows] == frame["Temperature"].to_list()
    assert rows[1]["time"] == "2026-01-01T00:00:00.500"
    assert generate_temperature(0) == []


def test_the_same_seed_gives_the_same_data():
    assert generate_temperature(1000, seed=9) == generate_temperature(1000, seed=9)
    assert generate_temperature(1000, seed=9) != generate_temperature(1000, seed=10)
