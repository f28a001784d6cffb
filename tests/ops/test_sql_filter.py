"""The Polars path of ``sl.sql`` filters gives DuckDB's result, row for row.

Every query below runs both ways on the same batches (nulls in every column, NaN,
strings with quotes and non-ASCII characters, several integer widths) and the frames,
their types and the rows' provenance must be equal. The first list must take the Polars
path (so the comparison is not DuckDB against itself); the second must fall back.
"""

import numpy as np
import polars as pl
import pytest

import streamlearn as sl
from streamlearn.core.batch import Batch
from streamlearn.ops.sql_filter import compile_filter

FAST = [
    "select * from $1",
    "select * from $1;",
    "select * from $1 where cluster = 0",
    "SELECT * FROM $1 WHERE cluster == 0",
    "select * from $1 where Cluster <> 1",
    "select * from $1 where cluster != 1",
    'select * from $1 where "bid" > 1.5',
    "select * from $1 where bid >= 1.5 and ask < 3",
    "select * from $1 where bid < -0.5 or ask > 2.5e0",
    "select * from $1 where not bid > 1",
    "select * from $1 where not (bid > 1 or cluster = 2)",
    "select * from $1 where (cluster = 0 or cluster = 2) and sym = 'a'",
    "select * from $1 where sym = 'o''brien'",
    "select * from $1 where sym > 'b'",
    "select * from $1 where sym <= 'é'",
    "select * from $1 where sym in ('a', 'c', 'é')",
    "select * from $1 where sym not in ('a', 'c')",
    "select * from $1 where cluster in (0, 2)",
    "select * from $1 where cluster in (0, 1.5)",
    "select * from $1 where cluster not in (1)",
    "select * from $1 where bid between 0.5 and 2",
    "select * from $1 where bid not between 0.5 and 2",
    "select * from $1 where cluster between 0 and 1 and sym is not null",
    "select * from $1 where bid is null",
    "select * from $1 where bid is not null or flag",
    "select * from $1 where flag",
    "select * from $1 where not flag",
    "select * from $1 where flag = false",
    "select * from $1 where flag or cluster = 1",
    "select * from $1 where flag and not cluster = 1",
    "select * from $1 where bid > ask",
    "select * from $1 where 1 < bid",
    "select * from $1 where small > -1 and small < 300",
    "select * from $1 where small = 200",
    "select * from $1 where big > 3000000000",
    "select * from $1 where bid = 'nan'",  # string vs number: falls back per schema
    "select * from $1 where f32 > 0.25",
    "select * from $1 where cluster = 0.0",
    "select * from $1 where bid > 1 and ask > 1 or sym = 'b' and not flag",
]

SLOW = [
    "select sym, count(*) from $1 group by sym",
    "select bid from $1 where cluster = 0",
    "select * from $1 where sym like 'a%'",
    "select * from $1 where bid + ask > 3",
    "select * from $1 where bid = null",
    "select * from $1 where sym in ('a', null)",
    "select * from $1 where cluster = 0 order by bid",
    "select * from $1 where cluster = 0 limit 3",
    "select * from $1 t where t.cluster = 0",
    "select * from $1 where (cluster) = 0",
    "select * from $1 where 1 = 1",
    "select * from $1 where cluster in (select 1)",
    "select * from $10 where cluster = 0",
]


def frame(seed: int, n: int = 400) -> pl.DataFrame:
    rng = np.random.default_rng(seed)

    def with_nulls(values, dtype):
        s = pl.Series(values, dtype=dtype)
        return s.scatter(rng.choice(n, n // 10, replace=False).tolist(), None)

    bid = rng.normal(1.0, 1.0, n)
    bid[rng.choice(n, 5, replace=False)] = np.nan
    syms = np.array(["a", "b", "c", "", "o'brien", "é", "Z", "ab"])
    return pl.DataFrame(
        {
            "sym": with_nulls(syms[rng.integers(0, len(syms), n)].tolist(), pl.String),
            "bid": with_nulls(bid, pl.Float64),
            "ask": with_nulls(rng.normal(1.5, 1.0, n), pl.Float64),
            "f32": with_nulls(rng.random(n), pl.Float32),
            "cluster": with_nulls(rng.integers(0, 3, n), pl.Int32),
            "small": with_nulls(rng.integers(0, 256, n), pl.UInt8),
            "big": with_nulls(rng.integers(0, 2**33, n), pl.Int64),
            "flag": with_nulls(rng.random(n) < 0.5, pl.Boolean),
            "time": pl.Series(1_798_761_600_000_000 + np.arange(n) * 1_000_000).cast(
                pl.Datetime("us")
            ),
        }
    )


def both_paths(query: str, df: pl.DataFrame):
    step = sl.sql(query).build()
    batch = Batch.from_frame(df, topic="t").take(np.arange(df.height)[::-1])  # rows moved
    ctx = sl.Context()
    fast = step.process(batch, ctx)
    slow = step._duckdb_query(batch, ctx)
    return step, fast, slow, ctx


@pytest.mark.parametrize("query", FAST)
def test_polars_path_equals_duckdb(query):
    kept = 0
    for seed in range(4):
        df = frame(seed)
        step, fast, slow, ctx = both_paths(query, df)
        assert not ctx.dead_letters
        assert fast.data.schema == slow.data.schema
        assert fast.data.equals(slow.data, null_equal=True)
        assert fast.offsets().tolist() == slow.offsets().tolist()
        kept += fast.height
    assert step.filter is not None
    if "'nan'" not in query:  # that one is DuckDB's by type (a string against a number)
        assert step.filter.expression(df.schema) is not None
        if "where" in query:  # the step took the Series path, and so would the expression
            mask = step.series.mask(df)
            assert mask is not None
            assert mask.to_list() == df.select(step.filter.expression(df.schema))[:, 0].to_list()
    if "where" in query:
        assert 0 < kept < 4 * 400 or query.endswith("small = 200")


@pytest.mark.parametrize("query", SLOW)
def test_queries_outside_the_subset_go_to_duckdb(query):
    df = frame(0)
    parsed = compile_filter(query)
    assert parsed is None or parsed.expression(df.schema) is None


def test_types_duckdb_changes_go_to_duckdb_and_keep_its_types():
    df = frame(0).with_columns(
        pl.col("sym").cast(pl.Categorical), pl.col("time").dt.replace_time_zone("UTC")
    )
    step, fast, slow, _ = both_paths("select * from $1 where cluster = 0", df)
    assert step.filter.expression(df.schema) is None
    assert fast.data.equals(slow.data) and fast.data.schema == slow.data.schema
    assert fast.data.schema["sym"] == pl.String  # DuckDB's answer, on both paths


def test_a_missing_column_is_dead_lettered_as_before():
    ctx = sl.Context()
    out = sl.sql("select * from $1 where nope = 1").apply(frame(0), ctx=ctx)
    assert out is None or out.height == 0
    assert len(ctx.dead_letters) == 1 and "SQL error" in ctx.dead_letters[0].reasons[0]


def test_a_plain_filter_opens_no_duckdb_connection():
    step = sl.sql("select * from $1 where cluster = 0").build()
    df = frame(1)
    out = step.process(Batch.from_frame(df, topic="t"), sl.Context())
    assert out.height == df.filter(pl.col("cluster") == 0).height > 0
    assert step._con is None
