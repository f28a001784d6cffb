import polars as pl

import streamlearn as sl
from streamlearn.core.batch import Batch


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def batch(x, first):
    return Batch.from_frame(pl.DataFrame({"x": x}), first_offset=first)


def test_timer_emits_once_the_period_has_passed():
    clock = Clock()
    ctx = sl.Context(clock)
    step = sl.window.timer(seconds=5).build()
    assert step.process(batch([1], 0), ctx) is None
    clock.t = 3
    assert step.process(batch([2], 1), ctx) is None
    assert step.held == 2
    clock.t = 5.5
    out = step.on_timer(ctx)
    assert out.data["x"].to_list() == [1, 2] and out.offsets().tolist() == [0, 1]
    assert step.held == 0


def test_timer_max_rows_and_held_rows_are_pending_not_snapshotted():
    ctx = sl.Context(Clock())
    step = sl.window.timer(seconds=60, max_rows=3).build()
    step.process(batch([1, 2], 0), ctx)
    assert step.snapshot() is None
    assert [b.offsets().tolist() for b in step.pending()] == [[0, 1]]
    out = step.process(batch([3], 2), ctx)
    assert out.data["x"].to_list() == [1, 2, 3]
    assert out.offsets().tolist() == [0, 1, 2]
    assert step.pending() == []
