import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.errors import ConfigError


def test_pipe_composes_and_names_steps_stably():
    p = sl.read.from_kafka("in") | sl.filter(pl.col("x") > 0) | sl.write.to_kafka("out")
    assert p.source.topics == ("in",)
    assert p.step_names() == ["0-filter", "1-write.to_kafka"]


def test_source_only_at_the_start():
    with pytest.raises(ConfigError):
        sl.filter(pl.col("x") > 0) | sl.read.from_kafka("in")


def test_duplicate_step_names_are_refused():
    p = sl.filter(pl.col("x") > 0, name="f") | sl.filter(pl.col("x") > 1, name="f")
    with pytest.raises(ConfigError):
        p.step_names()


def test_apply_in_batches_equals_apply_whole():
    df = pl.DataFrame({"x": list(range(10))})
    p = sl.map({"y": pl.col("x") * 2}) | sl.filter(pl.col("y") % 3 == 0)
    assert p.apply(df).equals(p.apply(df, batch_size=3))


def test_chain_counts_rows_removed():
    ctx = sl.Context()
    p = sl.decode.json({"x": "int"}) | sl.filter(pl.col("x") > 1)
    chain = p.build()
    raw = pl.DataFrame({"value": [b'{"x": 1}', b'{"x": 2}', b"bad"]})
    out = chain.run_frames([sl.Batch.from_frame(raw)], ctx)
    assert sum(b.height for b in out) == 1
    assert ctx.dead_lettered == 1
    assert chain.rows_removed - ctx.dead_lettered == 1  # the filtered row
