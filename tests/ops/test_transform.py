import polars as pl

import streamlearn as sl


def test_map_with_expressions_and_function():
    df = pl.DataFrame({"bid": [1.0, 2.0], "ask": [2.0, 3.0]})
    out = (
        sl.map({"mid": (pl.col("bid") + pl.col("ask")) / 2})
        | sl.map(lambda d: d.with_columns(two=pl.col("mid") * 2))
    ).apply(df)
    assert out["two"].to_list() == [3.0, 5.0]


def test_map_function_errors_dead_letter_the_batch():
    ctx = sl.Context()
    out = sl.map(lambda d: 1 / 0).apply(pl.DataFrame({"x": [1, 2]}), ctx=ctx)
    assert out.height == 0 and ctx.dead_lettered == 2
    assert "ZeroDivisionError" in ctx.dead_letters[0].reasons[0]


def test_filter_select_cast():
    ctx = sl.Context()
    df = pl.DataFrame({"x": ["1", "2", "zz"], "y": [1, 2, 3]})
    out = (sl.cast({"x": "int"}) | sl.filter(pl.col("x") > 1) | sl.select("x")).apply(df, ctx=ctx)
    assert out.to_dict(as_series=False) == {"x": [2]}
    assert ctx.dead_lettered == 1


def test_map_records_is_the_slow_path_but_works():
    ctx = sl.Context()
    fn = lambda r: None if r["x"] == 2 else {"x": r["x"], "inv": 1 / r["x"]}  # noqa: E731
    out = sl.map_records(fn).apply(pl.DataFrame({"x": [1, 2, 0]}), ctx=ctx)
    assert out["inv"].to_list() == [1.0]
    assert ctx.dead_lettered == 1


def test_sql_keeps_row_provenance_through_filters():
    ctx = sl.Context()
    p = sl.sql("select * from $1 where x > 1") | sl.write.to_kafka("out")
    p.apply(pl.DataFrame({"x": [1, 2, 3]}), ctx=ctx)
    batch = ctx.outputs["out"][0]
    assert batch.offsets().tolist() == [1, 2]


def test_sql_aggregation_and_error():
    df = pl.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]})
    out = sl.sql("select k, sum(v) as s from $1 group by k order by k").apply(df)
    assert out.to_dict(as_series=False) == {"k": ["a", "b"], "s": [4, 2]}
    ctx = sl.Context()
    sl.sql("select nope from $1").apply(df, ctx=ctx)
    assert ctx.dead_lettered == 3 and "SQL error" in ctx.dead_letters[0].reasons[0]
