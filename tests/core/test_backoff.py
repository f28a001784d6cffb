"""Back-off delays, and waiting in place for a sink whose target is away (offline)."""

from __future__ import annotations

import pytest

import streamlearn as sl
from streamlearn.core.backoff import Backoff, flush_waiting


def test_delays_double_within_the_jitter_and_reset():
    b = Backoff(first=0.1, most=5.0, jitter=0.5)
    delays = [b.next() for _ in range(10)]
    nominal = [min(0.1 * 2**i, 5.0) for i in range(10)]
    assert all(0.5 * d <= got <= min(1.5 * d, 5.0) for got, d in zip(delays, nominal, strict=True))
    assert max(delays) <= 5.0
    b.reset()
    assert b.next() <= 0.15


def test_flush_waiting_gives_up_after_the_sinks_retry_for():
    slept: list[float] = []

    def away() -> None:
        raise sl.SinkUnavailable("connection refused", operator="db", target="pg", retry_for=0.0)

    with pytest.raises(sl.OperatorError, match=r"pg still unavailable after 1 attempts") as err:
        flush_waiting(away, sleep=slept.append)
    assert "retry_for=0" in str(err.value) and "step 'db'" in str(err.value) and not slept


def test_other_errors_are_not_retried():
    calls = []

    def broken() -> None:
        calls.append(1)
        raise sl.ConfigError("column 'x' is Int64 in the stream but date in table 't'")

    with pytest.raises(sl.ConfigError, match="column 'x'"):
        flush_waiting(broken, sleep=lambda s: None)
    assert calls == [1]
