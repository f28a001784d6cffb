"""RunStats: end-to-end latency of outputs over a window of recent samples."""

import json

import numpy as np
import pytest

from streamlearn.runtime import stats as stats_mod
from streamlearn.runtime.stats import RunStats


def test_no_latency_until_an_output_with_a_timestamp() -> None:
    stats = RunStats()
    assert stats.e2e_p50_ms is None and stats.e2e_samples == 0
    stats.record_output_latency(np.array([], dtype=np.int64), now_ms=5.0)
    stats.record_output_latency(np.array([-1, -1]), now_ms=5.0)  # no timestamps
    assert stats.e2e_p50_ms is None and stats.e2e_samples == 0


def test_percentiles_of_now_minus_timestamp() -> None:
    stats = RunStats()
    now = 1_000_000.0
    stats.record_output_latency(now - np.arange(1, 101, dtype=np.int64), now_ms=now)
    assert stats.e2e_samples == 100
    assert stats.e2e_p50_ms == pytest.approx(np.percentile(np.arange(1, 101), 50))
    assert stats.e2e_p99_ms == pytest.approx(np.percentile(np.arange(1, 101), 99))
    assert stats.e2e_max_ms == 100.0


def test_window_keeps_the_most_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats_mod, "LATENCY_WINDOW", 8)
    monkeypatch.setattr(stats_mod, "LATENCY_SAMPLES_PER_BATCH", 5)
    stats = RunStats()
    stats.record_output_latency(np.zeros(5, dtype=np.int64), now_ms=1000.0)  # 1000 ms old
    stats.record_output_latency(np.full(5, 990), now_ms=1000.0)  # wraps around the ring
    assert stats.e2e_samples == 8
    assert stats.e2e_max_ms == 1000.0  # three of the old ones are still in the window
    stats.record_output_latency(np.full(5, 995), now_ms=1000.0)
    assert stats.e2e_max_ms == 10.0 and stats.e2e_p50_ms == 5.0


def test_a_large_batch_is_sampled_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats_mod, "LATENCY_SAMPLES_PER_BATCH", 11)
    stats = RunStats()
    stats.record_output_latency(np.arange(0, 1001, dtype=np.int64), now_ms=1000.0)
    assert stats.e2e_samples == 11
    assert stats.e2e_max_ms == 1000.0 and stats.e2e_p50_ms == 500.0


def test_as_dict_has_the_latency_fields_and_is_json() -> None:
    stats = RunStats()
    stats.record_output_latency(np.array([10, 20]), now_ms=30.0)
    d = stats.as_dict()
    assert d["e2e_p50_ms"] == 15.0 and d["e2e_max_ms"] == 20.0 and d["e2e_samples"] == 2
    assert not any(k.startswith("_") for k in d)
    assert "started_at" not in d and "first_record_at" not in d
    json.dumps(d)
